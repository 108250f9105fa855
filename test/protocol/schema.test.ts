/** protocol/ is the contract: schema.json must be regenerated (docs/protocol coverage: test/docs/protocol-docs.test.ts). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildSchemaDocument } from '../../protocol/schema-document.js';
import { ErrorKinds } from '../../protocol/index.js';

const root = new URL('../../', import.meta.url);

describe('protocol contract', () => {
  it('protocol/schema.json is up to date (run `npm run schema`)', () => {
    const checkedIn = JSON.parse(readFileSync(new URL('protocol/schema.json', root), 'utf8'));
    expect(checkedIn).toEqual(JSON.parse(JSON.stringify(buildSchemaDocument())));
  });

  it('every error kind has a distinct app code outside the reserved ranges, or a standard one', () => {
    const app = Object.values(ErrorKinds).filter((k) => k.code > 0).map((k) => k.code);
    expect(new Set(app).size).toBe(app.length);
    for (const { code } of Object.values(ErrorKinds)) {
      expect(code > 0 || (code <= -32000 && code >= -32899)).toBe(true);
    }
  });
});
