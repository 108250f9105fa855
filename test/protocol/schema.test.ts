/** protocol/ is the contract: schema.json must be regenerated and README must cover every method. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildSchemaDocument } from '../../protocol/schema-document.js';
import { ErrorKinds, Notifications, Requests } from '../../protocol/index.js';

const root = new URL('../../', import.meta.url);

describe('protocol contract', () => {
  it('protocol/schema.json is up to date (run `npm run schema`)', () => {
    const checkedIn = JSON.parse(readFileSync(new URL('protocol/schema.json', root), 'utf8'));
    expect(checkedIn).toEqual(JSON.parse(JSON.stringify(buildSchemaDocument())));
  });

  it('protocol/README.md documents every method and notification with an example', () => {
    const readme = readFileSync(new URL('protocol/README.md', root), 'utf8');
    for (const method of [...Object.keys(Requests), ...Object.keys(Notifications)]) {
      const heading = readme.indexOf(`### \`${method}\``);
      expect(heading, `no section for ${method}`).toBeGreaterThanOrEqual(0);
      const next = readme.indexOf('\n### ', heading + 1);
      const section = readme.slice(heading, next < 0 ? undefined : next);
      expect(section, `no example for ${method}`).toMatch(/```json/);
    }
  });

  it('every error kind has a distinct app code outside the reserved ranges, or a standard one', () => {
    const app = Object.values(ErrorKinds).filter((k) => k.code > 0).map((k) => k.code);
    expect(new Set(app).size).toBe(app.length);
    for (const { code } of Object.values(ErrorKinds)) {
      expect(code > 0 || (code <= -32000 && code >= -32899)).toBe(true);
    }
  });
});
