/**
 * The replay subcommand of the built CLI, spawned as a process: every shipped
 * transcript passes; an altered one fails with a diff naming the path; usage errors
 * exit 2; a recording replays cleanly.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runReplay } from '../../src/replay/command.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const DIR = join(ROOT, 'fixtures', 'transcripts');
const transcripts = readdirSync(DIR).filter((f) => f.endsWith('.jsonl')).sort();
const scratch = mkdtempSync(join(tmpdir(), 'qb-replay-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function replay(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does).`);
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'replay', ...args], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

/** runReplay in this process: what the CLI runs, minus a process start (the sidecars are still real). */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const code = await runReplay(args, { print: async (t) => void (out.stdout += t), error: (t) => void (out.stderr += t), color: false });
  return { code, ...out };
}

describe('quantum-butler replay', () => {
  it('ships the transcripts the format README lists', () => {
    expect(transcripts).toEqual(expect.arrayContaining(['errors.jsonl', 'lifecycle.jsonl', 'qbb-get-put.jsonl', 'repository.jsonl', 'store.jsonl']));
  });

  // One process for all of them: each CLI start costs about half a second.
  it('every transcript replays without a mismatch', async () => {
    const r = await replay(...transcripts.map((f) => join(DIR, f)));
    for (const f of transcripts) expect(r.stdout, r.stdout + r.stderr).toContain(`PASS ${join(DIR, f)}`);
    expect(r.stdout).toContain(`${transcripts.length} passed, 0 failed`);
    expect(r.code).toBe(0);
  });

  it('an altered expected value fails with exit 1 and a diff naming its path', async () => {
    const text = readFileSync(join(DIR, 'qbb-get-put.jsonl'), 'utf8');
    const target = '{"expect":{"result":{"state":"unused"}}}';
    expect(text).toContain(target);
    const altered = join(scratch, 'altered.jsonl');
    writeFileSync(altered, text.replace(target, '{"expect":{"result":{"state":"loaded"}}}'));
    const line = text.split('\n').findIndex((l) => l === target) + 1;
    const r = await replay(altered);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`FAIL ${altered}: 1 mismatch`);
    expect(r.stdout).toContain(`line ${line}: response to butler/markInputUnused`);
    expect(r.stdout).toMatch(/\$\.result\.state\n\s+- expected "loaded"\n\s+\+ actual {3}"unused"/);
  });

  it('usage errors and invalid transcripts exit 2 before running anything', async () => {
    const broken = join(scratch, 'broken.jsonl');
    writeFileSync(broken, '{"send":{"method":"server/ping"}}\n{"expect":{"result":"{{nope nope}}"}}\n');
    const r = await replay(join(DIR, 'lifecycle.jsonl'), broken);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${broken}: line 2:`);
    // The rest in-process: the same function the CLI runs, without paying for a process each.
    expect((await run()).code).toBe(2);
    expect((await run('--bogus', broken)).stderr).toContain('unknown option "--bogus"');
    expect((await run('--timeout=soon', broken)).code).toBe(2);
    expect((await run('--record', join(scratch, 'x.jsonl'), broken, broken)).stderr).toContain('--record takes exactly one script');
    expect((await run('--record', join(scratch, 'x.jsonl'), '--update', broken)).code).toBe(2);
    expect((await run(join(scratch, 'absent.jsonl'))).stderr).toContain('no such file');
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('quantum-butler replay --record OUT.jsonl');
  });

  it('records a script with placeholders for volatile values; the recording replays, and --update keeps hand edits', async () => {
    const script = join(scratch, 'script.jsonl');
    const out = join(scratch, 'recorded.jsonl');
    writeFileSync(
      script,
      [
        { send: { method: 'initialize', params: { protocolVersion: '1.0', capabilities: {} } } },
        { send: { method: 'session/open', params: { predicted: { inputs: [], outputs: [] }, store: { kind: 'sqlite', path: '{{tmpdir}}/s.sqlite3' } } } },
        { send: { method: 'store/info', params: { sessionId: '{{sessionId}}' } } },
        { send: { method: 'server/ping' } },
        { send: { method: 'shutdown' } },
        { send: { method: 'exit' } },
        { expectExit: null },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n'),
    );
    const rec = await run('--record', out, script);
    expect(rec.code, rec.stderr).toBe(0);
    const recorded = readFileSync(out, 'utf8');
    expect(recorded).toContain('"sessionId":"{{uuid:sessionId}}"');
    expect(recorded).toContain('"path":"{{tmpdir}}/s.sqlite3"');
    expect(recorded).toContain('{"uptimeMs":"{{int}}","time":"{{time}}"}');
    expect(recorded).toContain('{"expectExit":0}');
    const again = await run(out);
    expect(again.code, again.stdout).toBe(0);

    // --update keeps a hand edit that still matches and re-records a line that does not.
    const edited = recorded.replace('{"uptimeMs":"{{int}}","time":"{{time}}"}', '{"uptimeMs":"{{int}}","time":"{{*}}"}').replace('"readonly":false,"kind":"sqlite"', '"readonly":false,"kind":"memory"');
    writeFileSync(out, edited);
    const upd = await run('--update', out);
    expect(upd.code, upd.stderr).toBe(0);
    expect(upd.stdout).toMatch(/1 re-recorded/);
    const updated = readFileSync(out, 'utf8');
    expect(updated).toContain('"time":"{{*}}"');
    expect(updated).toContain('"readonly":false,"kind":"sqlite"');
    expect((await replay(out)).code).toBe(0);
  });
});
