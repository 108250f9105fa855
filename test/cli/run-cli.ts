/** Running the built CLI as a user would, and what every error must look like. */
import { spawnSync } from 'node:child_process';
import { sidecarEnv } from '../../src/client/sidecar-env.js';
import { expect } from 'vitest';
import { CLI, assertBuilt } from '../e2e/harness.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: readonly string[], opts: { input?: string; timeout?: number } = {}): CliResult {
  assertBuilt();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: opts.timeout ?? 60_000, input: opts.input ?? '', env: sidecarEnv() });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A usage error: exit 2, nothing on stdout, the problem on one line then the --help pointer, no stack. */
export function expectUsageError(r: CliResult, pattern: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(2);
  expect(lines[0]).toMatch(pattern);
  expect(lines[1]).toMatch(/^Try 'quantum-butler( [a-z-]+)? --help'\.$/);
}

/** A failure: exit 1, exactly one line on stderr naming the command, no stack. */
export function expectFailure(r: CliResult, pattern: RegExp): void {
  expect(r.status, r.stderr).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^quantum-butler [a-z-]+: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}
