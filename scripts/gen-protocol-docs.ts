/**
 * Regenerates the generated blocks of docs/protocol/*.md (see scripts/docs/markers.ts):
 * parameter and result tables from protocol/schema.json (scripts/docs/schema-tables.ts)
 * and examples from the recorded transcripts docs/protocol/examples/*.json
 * (scripts/docs/example-render.ts). Prose outside the markers is left alone.
 *
 *   npm run docs            (build, then write)
 *   node dist/scripts/gen-protocol-docs.js --check    (exit 1 and name the stale files)
 *
 * test/docs/protocol-docs.test.ts fails when a file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { generateProtocolDocs } from './docs/protocol-docs.js';

function main(): void {
  const check = process.argv.includes('--check');
  const stale: string[] = [];
  for (const [file, text] of generateProtocolDocs()) {
    if (readFileSync(file, 'utf8') === text) continue;
    stale.push(file);
    if (!check) writeFileSync(file, text);
  }
  if (check && stale.length > 0) {
    process.stderr.write(`stale (run \`npm run docs\`): ${stale.join(', ')}\n`);
    process.exitCode = 1;
  } else if (!check) {
    process.stderr.write(stale.length ? `rewrote ${stale.join(', ')}\n` : 'docs/protocol is up to date\n');
  }
}

main();
