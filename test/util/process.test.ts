/** processIsRunning: the one liveness check of the client watchdog and the file store's temp sweep. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { processIsRunning } from '../../src/util/process.js';
import { processState } from '../reliability/process-watch.js';
import { until } from '../support/until.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

describe('processIsRunning', () => {
  it('this process runs; nonsense pids do not', () => {
    expect(processIsRunning(process.pid)).toBe(true);
    for (const pid of [0, -1, 1.5, Number.NaN, 2 ** 60]) expect(processIsRunning(pid)).toBe(false);
  });

  it('a child runs until it has exited and been reaped', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    cleanup.push(() => child.kill('SIGKILL'));
    expect(processIsRunning(child.pid!)).toBe(true);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited; // reaped by node
    expect(processIsRunning(child.pid!)).toBe(false);
  });

  it.runIf(process.platform === 'linux')('a zombie (exited, not reaped) is not running', async () => {
    // `sleep 60` inherits the shell's background child and never reaps it: killed, it stays a zombie.
    // The shell pauses before its exec, so that the wait for it below is needed in every run.
    const parent = spawn('sh', ['-c', 'sleep 30 & echo $!; sleep 0.2; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
    cleanup.push(() => parent.kill('SIGKILL'));
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (b: Buffer) => resolve(b.toString().trim()))));
    // Killed before the shell has become `sleep 60`, the child is reaped by the shell and never a
    // zombie (this test failed so under load): wait for the exec first.
    expect(await until(() => readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim() === 'sleep')).toBe(true);
    expect(processIsRunning(zombie)).toBe(true);
    process.kill(zombie, 'SIGKILL');
    expect(await until(() => processState(zombie) === 'Z')).toBe(true);
    expect(processIsRunning(zombie)).toBe(false);
  });
});
