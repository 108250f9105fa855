/**
 * Finding 2 of issue 11 (and the zombie host of finding 8), re-enacted: however the sidecar
 * ends, it closes its sessions and writes every provenance file first, and exits with its
 * documented code. A host SIGKILLed while idle (its stderr pipe then has no reader) or in the
 * middle of the sidecar's write (EPIPE on stdout), a host that closes stdout or stderr, a
 * signal, a bug (an uncaught exception or rejection), a watched host that is a zombie.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { outputRefs } from '../e2e/fixture.js';
import { RawClient, type RawClientOptions } from '../e2e/raw-client.js';
import { CLI_UNDER_TEST, processState, whenGone, zombieToBe } from './process-watch.js';
import { sidecarEnv } from '../../src/client/sidecar-env.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'qb-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

let n = 0;
const provenanceOf = (file: string): { actualOutputs: string[] } => JSON.parse(readFileSync(file, 'utf8'));

/** A sidecar with one session that wrote one output, and the session's provenance file (not yet written). */
async function sessionWithOutput(args: string[] = [], options: RawClientOptions = {}, initialize: Record<string, unknown> = {}) {
  const c = new RawClient(['--stdio', ...args], { cli: CLI_UNDER_TEST, ...options });
  cleanup.push(() => c.child.exitCode === null && c.kill());
  await c.initialize(initialize);
  const file = join(dir, `prov-${++n}.json`);
  const outputs = outputRefs();
  const opened = await c.call('session/open', { predicted: { inputs: [], outputs }, notifications: [], provenanceFile: file });
  const sessionId = (opened.result as { sessionId: string }).sessionId;
  const put = await c.call('butler/put', { sessionId, ref: { id: outputs[0]!.id }, payload: { encoding: 'json', value: { x: 1 } } });
  expect(put.error).toBeUndefined();
  expect(existsSync(file)).toBe(false);
  return { c, file, outputId: outputs[0]!.id };
}

/** A host process running its own sidecar (test/reliability/hosts/dying-host.mjs), once it reports `expected`. */
async function dyingHost(mode: 'idle' | 'mid-write'): Promise<{ host: ReturnType<typeof spawn>; sidecarPid: number; file: string; outputId: string }> {
  const file = join(dir, `prov-${++n}.json`);
  const host = spawn(process.execPath, [join(here, 'hosts', 'dying-host.mjs'), CLI_UNDER_TEST, file, mode], { stdio: ['ignore', 'pipe', 'inherit'], env: sidecarEnv() });
  cleanup.push(() => host.exitCode === null && host.kill('SIGKILL'));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    host.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    host.once('exit', (code) => reject(new Error(`the host exited (${code}) before reporting`)));
  });
  const [word, pid, outputId] = line.split(' ');
  expect(word).toBe(mode === 'idle' ? 'ready' : 'writing');
  const sidecarPid = Number(pid);
  cleanup.push(() => {
    try {
      process.kill(sidecarPid, 'SIGKILL');
    } catch {
      // gone
    }
  });
  expect(existsSync(file)).toBe(false);
  return { host, sidecarPid, file, outputId: outputId! };
}

describe('every way out writes the provenance first', () => {
  it('a host SIGKILLed while idle, its stderr pipe left without a reader', async () => {
    const { host, sidecarPid, file, outputId } = await dyingHost('idle');
    host.kill('SIGKILL');
    expect(await whenGone(sidecarPid)).toBe(true);
    expect(provenanceOf(file).actualOutputs).toEqual([outputId]);
  });

  it('a host SIGKILLed while the sidecar is in the middle of writing an answer to it (EPIPE on stdout)', async () => {
    const { host, sidecarPid, file, outputId } = await dyingHost('mid-write');
    host.kill('SIGKILL');
    expect(await whenGone(sidecarPid)).toBe(true);
    expect(provenanceOf(file).actualOutputs).toEqual([outputId]);
  });

  it('a host that closes the read end of stdout: the next write fails (EPIPE), exit code 1', async () => {
    const { c, file, outputId } = await sessionWithOutput();
    c.child.stdout!.destroy();
    c.request('server/ping'); // its answer meets a closed pipe; stdin stays open
    expect(await c.exit).toBe(1);
    expect(provenanceOf(file).actualOutputs).toEqual([outputId]);
  });

  it('a host that closes the read end of stderr: logging stops, serving goes on, and the end of input still writes the provenance', async () => {
    const { c, file, outputId } = await sessionWithOutput(['--log-level=debug']);
    c.child.stderr!.destroy();
    for (let i = 0; i < 20; i++) expect((await c.call('server/ping')).result).toBeDefined(); // each one logs
    c.child.stdin!.end();
    expect(await c.exit).toBe(1);
    expect(provenanceOf(file).actualOutputs).toEqual([outputId]);
  });

  it.each(['SIGTERM', 'SIGHUP', 'SIGINT'] as const)('%s: exit code 1', async (signal) => {
    const { c, file, outputId } = await sessionWithOutput();
    c.child.kill(signal);
    expect(await c.exit).toBe(1);
    expect(provenanceOf(file).actualOutputs).toEqual([outputId]);
  });

  it.each(['exception', 'rejection'])('an uncaught %s (a bug): exit code 70', async (crash) => {
    const hook = join(here, 'hosts', 'crash-hook.mjs');
    const { c, file, outputId } = await sessionWithOutput([], { nodeArgs: [`--import=${hook}`], env: sidecarEnv({ ...process.env, QB_TEST_CRASH: crash }) });
    c.child.kill('SIGUSR2');
    expect(await c.exit).toBe(70);
    expect(provenanceOf(file).actualOutputs).toEqual([outputId]);
    expect(c.stderr).toContain(`test: an ${crash === 'exception' ? 'uncaught exception' : 'unhandled rejection'}`);
  });

  it('a watched host that is a zombie (exited, not yet reaped) counts as dead', async () => {
    const { parent, pid: zombie } = await zombieToBe();
    cleanup.push(() => parent.kill('SIGKILL'));
    const { c, file, outputId } = await sessionWithOutput([], {}, { processId: zombie });
    process.kill(zombie, 'SIGKILL');
    for (let i = 0; i < 100 && processState(zombie) !== 'Z'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(processState(zombie)).toBe('Z');
    expect(await c.exit).toBe(1);
    expect(provenanceOf(file).actualOutputs).toEqual([outputId]);
  });
});
