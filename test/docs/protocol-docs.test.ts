/**
 * docs/protocol/*.md: the generated tables and examples are up to date with
 * protocol/schema.json and the recorded transcripts, every method and notification has
 * a section with its tables, every recorded transcript replays against the built CLI,
 * and nothing of the recording machine (a temporary path) is in the docs.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Notifications, Requests } from '../../protocol/index.js';
import { findBlocks } from '../../scripts/docs/markers.js';
import { EXAMPLES, generateProtocolDocs, loadExamples, protocolDocFiles } from '../../scripts/docs/protocol-docs.js';
import { repoRoot } from '../../scripts/docs/repo-root.js';
import { sidecarEnv } from '../../src/client/sidecar-env.js';

const CLI = join(repoRoot, 'dist', 'src', 'cli.js');
const transcripts = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => join(EXAMPLES, f));

describe('docs/protocol', () => {
  it('every generated block is up to date (run `npm run docs`)', () => {
    const stale = [...generateProtocolDocs()].filter(([file, text]) => readFileSync(file, 'utf8') !== text).map(([f]) => f);
    expect(stale).toEqual([]);
  });

  it('every method and notification has a section with params (and result) tables and an examples block', () => {
    const blocks = protocolDocFiles().flatMap((f) => findBlocks(readFileSync(f, 'utf8')).map((b) => `${b.kind} ${b.name}`));
    const text = protocolDocFiles().map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const method of Object.keys(Requests)) {
      expect(text, method).toContain(`## \`${method}\``);
      for (const kind of ['params', 'result', 'examples']) expect(blocks, `${kind} ${method}`).toContain(`${kind} ${method}`);
    }
    for (const method of Object.keys(Notifications)) {
      expect(text, method).toContain(`## \`${method}\``);
      expect(blocks, `params ${method}`).toContain(`params ${method}`);
    }
  });

  it('every recorded example is shown in some examples block', () => {
    const known = new Set(
      protocolDocFiles().flatMap((f) => findBlocks(readFileSync(f, 'utf8')).filter((b) => b.kind === 'examples').map((b) => b.name)),
    );
    const examples = loadExamples();
    expect(examples.length).toBeGreaterThan(100);
    for (const ex of examples) expect(known.has(ex.method), `${ex.file}:${ex.line} ${ex.method}`).toBe(true);
  });

  it('no temporary path of the recording leaks into the docs or transcripts', () => {
    const files = [...protocolDocFiles(), ...transcripts, join(repoRoot, 'protocol', 'README.md')];
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toMatch(/\/tmp\/|qb-examples|\/var\/folders\//);
  });

  it('every recorded transcript replays against the built CLI', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does).`);
    const r = await new Promise<{ code: number | null; out: string }>((resolve) =>
      execFile(process.execPath, [CLI, 'replay', ...transcripts], { env: sidecarEnv({ ...process.env, NO_COLOR: '1' }) }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out: stdout + stderr }),
      ),
    );
    expect(r.out).toContain(`${transcripts.length} passed, 0 failed`);
    expect(r.code, r.out).toBe(0);
  }, 120_000);
});
