/**
 * Records the examples of docs/protocol/*.md from the built CLI: runs every script in
 * docs/protocol/examples/scripts/ (transcript scripts: sends only, format in
 * fixtures/transcripts/README.md) with `quantum-butler replay --record`, writes the
 * transcripts to docs/protocol/examples/, then regenerates the docs' generated blocks
 * (scripts/gen-protocol-docs.ts). Volatile values (random UUIDs, times, the temporary
 * directory) become placeholders, so no path of the recording's machine reaches the
 * docs, and test/docs/protocol-docs.test.ts can replay every transcript.
 *
 *   npm run docs:examples        (build, record, regenerate)
 *
 * A send line commented `example: TEXT` starts an example (see
 * scripts/docs/example-render.ts). Review the diff before committing.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runReplay } from '../src/replay/command.js';
import { EXAMPLES, generateProtocolDocs } from './docs/protocol-docs.js';

async function main(): Promise<void> {
  const scripts = join(EXAMPLES, 'scripts');
  let failed = 0;
  for (const name of readdirSync(scripts).filter((f) => f.endsWith('.json')).sort()) {
    const code = await runReplay(['--record', join(EXAMPLES, name), join(scripts, name)], {
      print: async (t) => void process.stderr.write(t),
      error: (t) => void process.stderr.write(t),
      color: false,
    });
    if (code !== 0) failed++;
    process.stderr.write(`${code === 0 ? 'recorded' : 'FAILED'} ${name}\n`);
  }
  for (const [file, text] of generateProtocolDocs()) writeFileSync(file, text);
  if (failed > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`record-examples failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
