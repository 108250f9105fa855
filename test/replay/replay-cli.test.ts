/**
 * The replay subcommand of the built CLI, spawned as a process: every shipped
 * transcript passes; an altered one fails with a diff naming the path; usage errors
 * exit 2; a recording replays cleanly; --update shows what changed and writes only with --accept.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runReplay } from '../../src/replay/command.js';
import { formatEntries, readEntries } from '../../src/replay/transcript-file.js';
import { sidecarEnv } from '../../src/client/sidecar-env.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const DIR = join(ROOT, 'fixtures', 'transcripts');
const transcripts = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const scratch = mkdtempSync(join(tmpdir(), 'qb-replay-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function replay(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does).`);
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'replay', ...args], { env: sidecarEnv({ ...process.env, NO_COLOR: '1' }) }, (err, stdout, stderr) =>
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
    expect(transcripts).toEqual(expect.arrayContaining(['errors.json', 'lifecycle.json', 'qbb-get-put.json', 'repository.json', 'store.json']));
  });

  // One process for all of them: each CLI start costs about half a second.
  it('every transcript replays without a mismatch', async () => {
    const r = await replay(...transcripts.map((f) => join(DIR, f)));
    for (const f of transcripts) expect(r.stdout, r.stdout + r.stderr).toContain(`PASS ${join(DIR, f)}`);
    expect(r.stdout).toContain(`${transcripts.length} passed, 0 failed`);
    expect(r.code).toBe(0);
  });

  it('an altered expected value fails with exit 1 and a diff naming its path and line', async () => {
    const steps = readEntries(readFileSync(join(DIR, 'qbb-get-put.json'), 'utf8'));
    const target = steps.filter((e) => JSON.stringify(e.value) === '{"expect":{"result":{"state":"unused"}}}');
    expect(target).toHaveLength(1);
    (target[0]!.value as { expect: { result: { state: string } } }).expect.result.state = 'loaded';
    const altered = join(scratch, 'altered.json');
    const text = formatEntries(steps.map((e) => e.value));
    writeFileSync(altered, text);
    const line = readEntries(text).find((e) => JSON.stringify(e.value).includes('"state":"loaded"'))!.line;
    const r = await replay(altered);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`FAIL ${altered}: 1 mismatch`);
    expect(r.stdout).toContain(`line ${line}: response to butler/markInputUnused`);
    expect(r.stdout).toMatch(/\$\.result\.state\n\s+- expected "loaded"\n\s+\+ actual {3}"unused"/);
  });

  it('usage errors and invalid transcripts exit 2 before running anything', async () => {
    const broken = join(scratch, 'broken.json');
    writeFileSync(broken, '[{"send":{"method":"server/ping"}},\n{"expect":{"result":"{{nope nope}}"}}]\n');
    const r = await replay(join(DIR, 'lifecycle.json'), broken);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${broken}: line 2:`);
    // The rest in-process: the same function the CLI runs, without paying for a process each.
    expect((await run()).code).toBe(2);
    expect((await run('--bogus', broken)).stderr).toContain("Unknown option '--bogus'");
    expect((await run('--update', '--cli', broken)).code).toBe(2); // --cli takes a value: no transcript is left
    expect((await run('--accept', broken)).stderr).toContain('--accept goes with --update');
    expect((await run('--keep-tmp=yes', broken)).code).toBe(2);
    expect((await run('--timeout=soon', broken)).code).toBe(2);
    expect((await run('--record', join(scratch, 'x.json'), broken, broken)).stderr).toContain('--record takes exactly one script');
    expect((await run('--record', join(scratch, 'x.json'), '--update', broken)).code).toBe(2);
    expect((await run(join(scratch, 'absent.json'))).stderr).toContain('no such file');
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('quantum-butler replay --record OUT.json');
  });

  it('records a script with placeholders for volatile values; the recording replays', async () => {
    const { recorded } = await recordSmallScript('a');
    const steps = readEntries(readFileSync(recorded, 'utf8')).map((e) => e.value as Record<string, any>);
    const open = steps.findIndex((s) => s['send']?.method === 'session/open');
    expect(steps[open]!['send'].params.store.path).toBe('{{tmpdir}}/s.sqlite3');
    expect(steps[open + 1]!['expect'].result.sessionId).toBe('{{uuid:sessionId}}');
    const ping = steps.findIndex((s) => s['send']?.method === 'server/ping');
    expect(steps[ping + 1]).toEqual({ expect: { result: { uptimeMs: '{{int}}', time: '{{time}}' } } });
    expect(steps.at(-1)).toEqual({ expectExit: 0 });
    const again = await run(recorded);
    expect(again.code, again.stdout).toBe(0);
  });

  it('--update prints what changed path by path and writes nothing; --update --accept re-records and keeps hand edits', async () => {
    const { recorded } = await recordSmallScript('b');
    const up = await run('--update', recorded);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.stdout).toContain(`up to date ${recorded}`);

    // A hand edit that still matches ({{*}}) and a wrong value (the store is sqlite, not memory).
    const steps = readEntries(readFileSync(recorded, 'utf8')).map((e) => e.value as Record<string, any>);
    const ping = steps.findIndex((s) => s['send']?.method === 'server/ping');
    steps[ping + 1]!['expect'].result.time = '{{*}}';
    const info = steps.findIndex((s) => s['send']?.method === 'store/info');
    expect(steps[info + 1]!['expect'].result.kind).toBe('sqlite');
    steps[info + 1]!['expect'].result.kind = 'memory';
    const edited = formatEntries(steps);
    writeFileSync(recorded, edited);
    const wrongLine = readEntries(edited).find((e) => JSON.stringify(e.value).includes('"kind":"memory"'))!.line;

    const diff = await run('--update', recorded);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain(`line ${wrongLine}: response to store/info`);
    expect(diff.stdout).toMatch(/\$\.result\.kind\n\s+- expected "memory"\n\s+\+ actual {3}"sqlite"/);
    expect(diff.stdout).toContain('nothing written');
    expect(readFileSync(recorded, 'utf8')).toBe(edited);

    const accepted = await run('--update', '--accept', recorded);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout).toMatch(/1 re-recorded/);
    const after = readEntries(readFileSync(recorded, 'utf8')).map((e) => e.value as Record<string, any>);
    expect(after[ping + 1]!['expect'].result.time).toBe('{{*}}');
    expect(after[info + 1]!['expect'].result.kind).toBe('sqlite');
    expect((await replay(recorded)).code).toBe(0);
  });
});

/** A small script recorded live into `recorded-<tag>.json`. */
async function recordSmallScript(tag: string): Promise<{ recorded: string }> {
  const script = join(scratch, `script-${tag}.json`);
  const recorded = join(scratch, `recorded-${tag}.json`);
  writeFileSync(
    script,
    formatEntries([
      { send: { method: 'initialize', params: { protocolVersion: '1.0', capabilities: {} } } },
      { send: { method: 'session/open', params: { predicted: { inputs: [], outputs: [] }, store: { kind: 'sqlite', path: '{{tmpdir}}/s.sqlite3' } } } },
      { send: { method: 'store/info', params: { sessionId: '{{sessionId}}' } } },
      { send: { method: 'server/ping' } },
      { send: { method: 'shutdown' } },
      { send: { method: 'exit' } },
      { expectExit: null },
    ]),
  );
  const rec = await run('--record', recorded, script);
  expect(rec.code, rec.stderr).toBe(0);
  return { recorded };
}
