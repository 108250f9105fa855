/**
 * Writes protocol/schema.json from the zod schemas: one JSON Schema per request's
 * params and result and per notification's params, plus the error table.
 * Run with `npm run schema`; a test fails when the checked-in file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { buildSchemaDocument } from '../protocol/schema-document.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'protocol', 'schema.json');
writeFileSync(out, JSON.stringify(buildSchemaDocument(), null, 2) + '\n');
process.stderr.write(`wrote ${out}\n`);
