/**
 * Finding 6 of issue 11 (and the ids of finding 7), re-enacted over the real CLI: a header
 * that cannot be read exactly is a framing error (never a silent misread, never a hang),
 * answered -32700 FramingError before the sidecar exits with code 1, provenance written; a
 * frame stalled half-sent times out the same way; a body far over the size limit is skipped
 * without a crash; ids are answered exactly as sent.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { outputRefs } from '../e2e/fixture.js';
import { RawClient } from '../e2e/raw-client.js';
import { encodeFrame } from '../../src/util/framing.js';
import { CLI_UNDER_TEST } from './process-watch.js';

const dir = mkdtempSync(join(tmpdir(), 'qb-framing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const live: RawClient[] = [];
afterEach(() => {
  for (const c of live.splice(0)) if (c.child.exitCode === null) c.kill();
});

let n = 0;
/** An initialized sidecar with a session that owes a provenance file. */
async function sidecar(args: string[] = []): Promise<{ c: RawClient; file: string }> {
  const c = new RawClient(['--stdio', ...args], { cli: CLI_UNDER_TEST });
  live.push(c);
  await c.initialize();
  const file = join(dir, `prov-${++n}.json`);
  const opened = await c.call('session/open', { predicted: { inputs: [], outputs: outputRefs() }, notifications: [], provenanceFile: file });
  expect(opened.error).toBeUndefined();
  return { c, file };
}

const ping = encodeFrame('{"jsonrpc":"2.0","id":"after","method":"server/ping"}');

describe('strict framing', () => {
  it.each([
    ['digits then letters', 'Content-Length: 12abc\r\n\r\n'],
    ['a fraction', 'Content-Length: 12.9\r\n\r\n'],
    ['an exponent', 'Content-Length: 12e3\r\n\r\n'],
    ['a negative length', 'Content-Length: -1\r\n\r\n'],
    ['Content-Length twice', 'Content-Length: 51\r\nContent-Length: 51\r\n\r\n'],
    ['LF-only line endings', 'Content-Length: 51\n\n'],
  ])('%s: answered -32700 FramingError, then exit code 1 with the provenance written', async (_name, header) => {
    const { c, file } = await sidecar();
    const body = '{"jsonrpc":"2.0","id":"misread","method":"server/ping"}';
    c.sendRaw(Buffer.concat([Buffer.from(header, 'latin1'), Buffer.from(body), ping]));
    const err = await c.waitFor((m) => m.error?.data?.kind === 'FramingError');
    expect(err).toMatchObject({ id: null, error: { code: -32700, message: expect.stringMatching(/^Framing error/) } });
    expect(await c.exit).toBe(1);
    // Nothing after the bad header was read as a message.
    expect(c.messages.filter((m) => m.id === 'misread' || m.id === 'after')).toEqual([]);
    expect(existsSync(file)).toBe(true);
  });

  it('a frame stalled half-sent is a framing error after --message-timeout-ms, not a hang', async () => {
    const { c, file } = await sidecar(['--message-timeout-ms=300']);
    c.sendRaw(ping.subarray(0, ping.length - 10));
    const err = await c.waitFor((m) => m.error?.data?.kind === 'FramingError');
    expect(err.error?.message).toMatch(/stalled half-sent/);
    expect(await c.exit).toBe(1);
    expect(existsSync(file)).toBe(true);
  });

  it('a 600 MB body (more than a JavaScript string holds) is skipped without a crash; the next message is answered', async () => {
    const { c } = await sidecar();
    const size = 600_000_000;
    const start = '{"jsonrpc":"2.0","id":"huge","method":"store/set","params":{"data":"';
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    c.sendRaw(`Content-Length: ${size}\r\n\r\n${start}`);
    c.sendRaw(chunk);
    // Refused from the header and the body's first bytes, while the rest is still to come.
    const refused = await c.waitFor((m) => m.id === 'huge');
    expect(refused.error).toMatchObject({ code: 1035, data: { kind: 'MessageTooLarge', details: { size } } });
    let left = size - start.length - chunk.length;
    while (left > 0) {
      const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= part.length;
      if (!c.child.stdin!.write(part)) await new Promise((r) => c.child.stdin!.once('drain', r));
    }
    c.sendRaw(ping);
    expect((await c.waitFor((m) => m.id === 'after', 60_000)).result).toBeDefined();
  });
});

describe('ids exactly as sent', () => {
  it('numbers a double cannot hold are echoed as written, never as null', async () => {
    const { c } = await sidecar();
    const ids = ['1e400', '9007199254740993', '-0', '1.5', '-1e-400', '123456789012345678901234567890'];
    for (const id of ids) c.sendRaw(encodeFrame(`{"jsonrpc":"2.0","id":${id},"method":"server/ping"}`));
    c.sendRaw(ping);
    await c.waitFor((m) => m.id === 'after');
    const text = Buffer.concat(c.raw).toString('utf8');
    for (const id of ids) expect(text).toContain(`"id":${id},"result":{`);
    expect(text).not.toContain('"id":null');
  });

  it('the id of a body that is not JSON is echoed when it can be read', async () => {
    const { c } = await sidecar();
    c.sendRaw(encodeFrame('{"jsonrpc":"2.0","id":9007199254740993,"method":"server/ping","params":{'));
    c.sendRaw(ping);
    await c.waitFor((m) => m.id === 'after');
    expect(Buffer.concat(c.raw).toString('utf8')).toContain('"id":9007199254740993,"error":{"code":-32700');
  });
});

