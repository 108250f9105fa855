/**
 * The stdout guard's flush (src/stdout-guard.ts), in a process of its own (the guard takes over
 * the process's stdout): what is written leaves as written, and a flush the server does at once
 * (one call at a time: the answer, then the idle connection's flush) queues no immediate.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI } from './harness.js';

const GUARD = CLI.replace(/cli\.js$/, 'stdout-guard.js');

/** Run `body` after the guard is loaded, with the guard's end-of-turn immediates (its `flushSoon`) counted; stdout, and what the script printed to stderr. */
function run(body: string): { stdout: string; stderr: string } {
  const script = `
    let immediates = 0;
    const real = globalThis.setImmediate;
    globalThis.setImmediate = (fn, ...args) => { if (fn.name === 'flushSoon') immediates++; return real(fn, ...args); };
    const guard = await import(${JSON.stringify(GUARD)});
    ${body}
    setTimeout(() => process.stderr.write('immediates=' + immediates), 20);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return { stdout: r.stdout, stderr: r.stderr };
}

describe('stdout guard flush', () => {
  it('a write flushed in the same turn goes out once and queues no immediate', () => {
    const r = run(`guard.protocolOutput.write(Buffer.from('one')); guard.flushProtocolOutput();`);
    expect(r.stdout).toBe('one');
    expect(r.stderr).toBe('immediates=0');
  });

  it('writes left to the guard leave together, in order, at the end of the turn', () => {
    const r = run(`guard.protocolOutput.write(Buffer.from('a')); guard.protocolOutput.write(Buffer.from('b')); setImmediate(() => guard.protocolOutput.write(Buffer.from('c')));`);
    expect(r.stdout).toBe('abc');
    // Nothing flushed them: the guard put the flush off to the end of the turn (twice: 'c' came in another turn).
    expect(r.stderr).toMatch(/^immediates=[1-9]/);
  });
});
