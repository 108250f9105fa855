/** processIsRunning: the one liveness check of the client watchdog and the file store's temp sweep. */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { processIsRunning } from '../../src/util/process.js';
import { processState, zombieToBe } from '../reliability/process-watch.js';
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
    const { parent, pid: zombie } = await zombieToBe();
    cleanup.push(() => parent.kill('SIGKILL'));
    expect(processIsRunning(zombie)).toBe(true);
    process.kill(zombie, 'SIGKILL');
    expect(await until(() => processState(zombie) === 'Z')).toBe(true);
    expect(processIsRunning(zombie)).toBe(false);
  });
});
