/**
 * Every command's --help and strict arguments, the demo's edges, and the server's hints to a
 * person: at a terminal, or piping JSON without Content-Length framing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonMessageDecoder } from '../../src/util/framing.js';
import { CLI } from '../e2e/harness.js';
import { cli, expectFailure, expectUsageError } from './run-cli.js';
import { sidecarEnv } from '../../src/client/sidecar-env.js';

const COMMANDS = ['create', 'query-datasets', 'query-quanta', 'lineage', 'provenance', 'retrieve-artifacts', 'collect', 'report', 'demo'];
const dir = mkdtempSync(join(tmpdir(), 'qb-cli-usage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('every command', () => {
  it.each(COMMANDS)('%s --help prints its usage on stdout and exits 0', (name) => {
    const r = cli([name, '--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^Usage: quantum-butler ${name}\\b`));
  });

  it('-h is --help', () => {
    expect(cli(['lineage', '-h']).stdout).toBe(cli(['lineage', '--help']).stdout);
  });

  it.each(COMMANDS)('%s refuses an unknown option with exit 2 and one line', (name) => {
    expectUsageError(cli([name, '--frobnicate']), new RegExp(`^quantum-butler ${name}: unknown argument --frobnicate$`));
  });

  it('the top-level help lists every command', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    for (const name of [...COMMANDS, 'replay']) expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it('an unknown command, or a server option without its value, is a usage error', () => {
    expectUsageError(cli(['frobnicate']), /^quantum-butler: unknown command "frobnicate"$/);
    expectUsageError(cli(['--log-level']), /--log-level needs a value/);
    expectUsageError(cli(['--log-level=loud']), /--log-level must be one of/);
    expectUsageError(cli(['--max-sessions=0']), /--max-sessions needs a positive integer/);
    expectUsageError(cli(['--stdio=yes']), /--stdio takes no value/);
  });
});

describe('demo', () => {
  it('--out without a value, or before another option, is a usage error', () => {
    expectUsageError(cli(['demo', '--out']), /--out needs a value/);
    expectUsageError(cli(['demo', '--out', '--help']), /--out needs a value/);
    expectUsageError(cli(['demo', 'extra']), /unexpected argument extra/);
  });

  it('an --out that cannot be a directory is one line, exit 1', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expectFailure(cli(['demo', '--out', join(file, 'sub')]), /cannot create the --out directory .*ENOTDIR/);
  });

  it('a second run into the same --out is one line, exit 1, and leaves the first alone', () => {
    const out = join(dir, 'demo');
    const first = cli(['demo', '--out', out], { timeout: 120_000 });
    expect(first.status, first.stderr).toBe(0);
    // Its narration is on stdout (a log captures it).
    expect(first.stdout).toMatch(/outputWritten/);
    expect(first.stdout).toContain(out);
    const again = cli(['demo', '--out', out]);
    expectFailure(again, /already holds a demo/);
    expect(cli(['query-quanta', join(out, 'repo'), '--json']).stdout).toMatch(/demo\.Summarize/);
  }, 150_000);
});

describe('server mode hints', () => {
  it('JSON piped without Content-Length: a FramingError on stdout, a hint on stderr', async () => {
    const messages: Array<{ error?: { code: number; message: string; data?: { kind?: string } } }> = [];
    const decoder = jsonMessageDecoder<(typeof messages)[number]>((m) => messages.push(m));
    const r = spawnSync(process.execPath, [CLI], { input: '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n', timeout: 30_000, env: sidecarEnv() });
    decoder.push(r.stdout);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.error?.data?.kind).toBe('FramingError');
    expect(messages[0]!.error?.message).toMatch(/without a Content-Length header/);
    expect(r.stderr.toString()).toMatch(/without a Content-Length header/);
    expect(r.status).toBe(1);
  });

  it('a JSON message without framing or newline: the same, at the end of input', () => {
    const r = spawnSync(process.execPath, [CLI], { input: '{"jsonrpc":"2.0","id":1,"method":"initialize"}', timeout: 30_000, env: sidecarEnv() });
    const messages: Array<{ error?: { message: string } }> = [];
    jsonMessageDecoder<(typeof messages)[number]>((m) => messages.push(m)).push(r.stdout);
    expect(messages[0]?.error?.message).toMatch(/without a Content-Length header/);
    expect(r.stderr.toString()).toMatch(/without a Content-Length header/);
  });

  it('stdin a terminal: a hint on stderr, nothing on stdout', async () => {
    // Python's pty module gives the sidecar a terminal for stdin (Node has none built in).
    const script = [
      'import os, pty, subprocess, sys',
      'm, s = pty.openpty()',
      'p = subprocess.Popen([sys.argv[1], sys.argv[2]], stdin=s, stdout=subprocess.PIPE, stderr=subprocess.PIPE)',
      'os.close(s)',
      'line = p.stderr.readline()',
      'p.kill()',
      'out = p.stdout.read()',
      'sys.stdout.write(repr(out) + "\\n" + line.decode())',
    ].join('\n');
    const child = spawn('python3', ['-c', script, process.execPath, CLI], { stdio: ['ignore', 'pipe', 'inherit'], env: sidecarEnv() });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    await new Promise((res) => child.on('close', res));
    const [stdoutRepr, hint] = text.split('\n');
    expect(stdoutRepr).toBe("b''");
    expect(hint).toMatch(/LSP-framed JSON-RPC 2\.0/);
    expect(hint).toMatch(/Content-Length/);
  });
});
