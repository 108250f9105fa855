/**
 * A seeded fuzz of the transport (issue 11's Done-when): QB_FUZZ_FRAMES frames (10,000 by
 * default) of malformed and hostile input, QB_FUZZ_SEED to replay a run.
 *
 * Most go to one real sidecar, correctly framed but hostile inside: bodies that are not JSON
 * or not UTF-8, JSON that is not a message, batches, ids of every type and number that no
 * double holds, unknown methods, every known method with hostile params (deep nesting, lone
 * surrogates, NUL, long strings, `__proto__` and `constructor` keys, numbers beyond 2^53,
 * duplicate keys), notifications, cancellations, bodies over the size limit, with $/setTrace
 * verbose on. They are sent in rounds; a round is over when every answer it is owed has come.
 * The run ends with 0 crashes (the sidecar never exits), 0 hangs (every round is answered, each
 * request exactly once), every error with a `data.kind`, and a ping answered afterwards.
 *
 * The rest are framing mutations (bytes flipped, CR and LF inserted or dropped, digits turned
 * to letters, headers doubled, cut short) fed in random pieces to the server's reader in
 * process, where a framing error ends a stream: it never throws, never misreports, and after a
 * framing error reads nothing more.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Requests } from '../../protocol/index.js';
import { ProtocolReader, type Incoming } from '../../src/server/protocol-reader.js';
import { encodeFrame } from '../../src/util/framing.js';
import { outputRefs } from '../e2e/fixture.js';
import { RawClient, type Message } from '../e2e/raw-client.js';
import { CLI_UNDER_TEST } from './process-watch.js';

const FRAMES = Number(process.env.QB_FUZZ_FRAMES ?? 10_000);
const SEED = Number(process.env.QB_FUZZ_SEED ?? 20_261_202);
const MAX_MESSAGE = 64 * 1024;
const ROUND = 250;

/** mulberry32: small, seedable, good enough to pick fuzz cases. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number): boolean => next() < p;
  return { next, int, pick, chance };
}
type Rand = ReturnType<typeof random>;

const dir = mkdtempSync(join(tmpdir(), 'qb-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const live: RawClient[] = [];
afterEach(() => {
  for (const c of live.splice(0)) if (c.child.exitCode === null) c.kill();
});

/** JSON text of hostile values (text, so that it can hold what a JavaScript value cannot). */
function hostile(r: Rand, sessionId: string) {
  const strings = [
    '',
    'a',
    '__proto__',
    'constructor',
    'prototype',
    'x\u0000y',
    '\ud800',
    'a\udc00b',
    '😀',
    'a/./../b',
    'a'.repeat(5000),
    '{"id":1}',
    'Content-Length: 5\r\n\r\n',
    sessionId,
    '00000000-0000-4000-8000-000000000001',
  ];
  const numbers = ['0', '-0', '1', '-1', '1.5', '1e400', '-1e400', '1e-400', '9007199254740993', '123456789012345678901234567890', '2.5e+3'];
  const string = (): string => (r.chance(0.8) ? JSON.stringify(r.pick(strings)) : `"\\ud83d"`);
  const value = (depth: number): string => {
    const k = r.int(depth > 3 ? 5 : 8);
    if (k === 0) return 'null';
    if (k === 1) return r.pick(['true', 'false']);
    if (k === 2) return r.pick(numbers);
    if (k <= 4) return string();
    if (k === 5) return `[${Array.from({ length: r.int(4) }, () => value(depth + 1)).join(',')}]`;
    if (k === 6) {
      const keys = Array.from({ length: r.int(4) }, () => (r.chance(0.3) ? r.pick(['"__proto__"', '"constructor"', '"sessionId"', '"id"']) : string()));
      return `{${keys.map((key) => `${key}:${value(depth + 1)}`).join(',')}}`;
    }
    const d = r.pick([100, 4200, 20_000]); // nesting past any recursive walker
    return r.chance(0.5) ? '['.repeat(d) + ']'.repeat(d) : '{"a":'.repeat(d) + '1' + '}'.repeat(d);
  };
  /** Params for a method: plausible fields with hostile values, or anything at all. */
  const params = (): string => {
    if (r.chance(0.15)) return value(0);
    const fields = ['sessionId', 'ref', 'key', 'keys', 'payload', 'data', 'metadata', 'pattern', 'root', 'as', 'parameters', 'predicted', 'handle', 'value', 'id'];
    const members = [`"sessionId":${r.chance(0.6) ? JSON.stringify(sessionId) : string()}`];
    for (let i = r.int(4); i > 0; i--) members.push(`${JSON.stringify(r.pick(fields))}:${value(1)}`);
    if (r.chance(0.1)) members.push(`"sessionId":${string()}`); // a duplicate: the last one counts
    return `{${members.join(',')}}`;
  };
  return { value, params, string };
}

/** What the sidecar owes for a frame: an answer with this id, one with id null, or none. */
type Owed = { id: string } | 'null' | 'none';

/** Key of an id as the test's JSON.parse reads it back (lossy for odd numbers, on both sides alike). */
const idKey = (idText: string): string => {
  const v = JSON.parse(idText) as unknown;
  return typeof v === 'number' ? `n:${Object.is(v, -0) ? 0 : v}` : `s:${String(v)}`;
};

function fuzzFrame(r: Rand, seq: number, sessionId: string, methods: string[]): { bytes: Buffer; owed: Owed } {
  const h = hostile(r, sessionId);
  const uniqueId = (): string => (r.chance(0.8) ? String(1000 + seq) : JSON.stringify(`fz-${seq}`));
  const kind = r.int(100);
  if (kind < 45) {
    // A known method with hostile params.
    const id = uniqueId();
    return { bytes: encodeFrame(`{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(r.pick(methods))},"params":${h.params()}}`), owed: { id: idKey(id) } };
  }
  if (kind < 50) {
    const id = uniqueId();
    const method = r.pick(['butler/teleport', '', '$/unknown', 'x'.repeat(3000), 'rpc.discover', '__proto__']);
    return { bytes: encodeFrame(`{"jsonrpc":"2.0","method":${JSON.stringify(method)},"id":${id}}`), owed: { id: idKey(id) } };
  }
  if (kind < 56) {
    // Ids no double holds, answered as sent; the test reads them back as its JSON.parse does.
    const id = r.pick(['1e400', '-1e400', '9007199254740993', '-0', '1.5', '123456789012345678901234567890', '1e-400']);
    return { bytes: encodeFrame(`{"jsonrpc":"2.0","id":${id},"method":"server/ping"}`), owed: { id: idKey(id) } };
  }
  if (kind < 64) {
    // A notification (never answered): known or not, hostile params; never exit.
    // One over the size limit cannot be told from a request whose id comes late: answered with id null.
    const method = r.pick(['initialized', '$/setTrace', '$/cancelRequest', 'window/x', 'butler/put', 'session/open']);
    const body = `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":${h.params()}}`;
    return { bytes: encodeFrame(body), owed: Buffer.byteLength(body) > MAX_MESSAGE ? 'null' : 'none' };
  }
  if (kind < 68) {
    // A cancellation of some earlier (or unknown) request.
    return { bytes: encodeFrame(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":${r.pick([String(1000 + r.int(seq + 1)), '"fz-3"', '1e400', 'null', '{}'])}}}`), owed: 'none' };
  }
  if (kind < 74) {
    // Not JSON, with a readable id before the break.
    const id = uniqueId();
    const body = `{"jsonrpc":"2.0","id":${id},"method":"server/ping","params":${h.params()}`;
    return { bytes: encodeFrame(body.slice(0, body.length - r.int(Math.min(10, body.length - 30)))), owed: { id: idKey(id) } };
  }
  if (kind < 80) {
    // Not JSON and no id to read: garbage, bytes that are not UTF-8, nothing.
    const garbage = r.pick([
      Buffer.from('#' + 'x'.repeat(r.int(100))),
      Buffer.from([0x23, 0xff, 0xfe, 0xc3, 0x28, 0x80]),
      Buffer.from(''),
      Buffer.from('{"jsonrpc":"2.0","method":'),
      Buffer.from('\u0000\u0001'),
      Buffer.from('{"id":'),
    ]);
    return { bytes: encodeFrame(garbage), owed: 'null' };
  }
  if (kind < 88) {
    // JSON that is not a message: answered -32600 with id null.
    const body = r.pick([
      '[]',
      `[{"jsonrpc":"2.0","id":${1000 + seq},"method":"server/ping"}]`,
      '42',
      '"text"',
      'null',
      'true',
      `{"jsonrpc":"2.0","id":${r.pick(['true', '{}', '[1]', 'null'])},"method":"server/ping"}`,
    ]);
    return { bytes: encodeFrame(body), owed: 'null' };
  }
  if (kind < 91) {
    // An id without method or result: -32600 with that id. A response from the host: ignored.
    const id = uniqueId();
    if (r.chance(0.5)) return { bytes: encodeFrame(`{"jsonrpc":"2.0","id":${id}}`), owed: { id: idKey(id) } };
    return { bytes: encodeFrame(`{"jsonrpc":"2.0","id":${id},"result":${h.value(0)}}`), owed: 'none' };
  }
  if (kind < 94) {
    // Over --max-message-bytes: skipped unread, answered MessageTooLarge with the id.
    const id = uniqueId();
    const pad = 'A'.repeat(MAX_MESSAGE + r.int(3 * MAX_MESSAGE));
    return { bytes: encodeFrame(`{"jsonrpc":"2.0","id":${id},"method":"butler/put","params":{"data":"${pad}"}}`), owed: { id: idKey(id) } };
  }
  // Just under the limit: a big string through the long-string parse.
  const id = uniqueId();
  const pad = 'B'.repeat(MAX_MESSAGE - 200 - r.int(1000));
  return { bytes: encodeFrame(`{"jsonrpc":"2.0","id":${id},"method":"store/setData","params":{"sessionId":${JSON.stringify(sessionId)},"key":"k","data":"${pad}"}}`), owed: { id: idKey(id) } };
}

describe('fuzz', () => {
  const frames = { sidecar: Math.ceil(FRAMES * 0.9), framing: FRAMES - Math.ceil(FRAMES * 0.9) };

  it(`${frames.sidecar} hostile frames to a real sidecar: 0 crashes, 0 hangs, every error with data.kind, a ping answered after (seed ${SEED})`, async () => {
    const r = random(SEED);
    const owedIds = new Map<string, number>();
    const answers = new Map<string, number>();
    let owedNulls = 0;
    let nullAnswers = 0;
    /** Answers owed and not yet seen: owed before they are sent, so never below zero. */
    let outstanding = 0;
    let roundDone: (() => void) | null = null;
    const withoutKind: Message[] = [];
    const c = new RawClient(['--stdio', `--max-message-bytes=${MAX_MESSAGE}`, '--max-sessions=64'], {
      cli: CLI_UNDER_TEST,
      cwd: dir,
      keepRaw: false,
      keep: (m) => {
        if (m.method === undefined) {
          if (m.id === null) {
            if (++nullAnswers <= owedNulls) outstanding--;
          } else {
            const key = typeof m.id === 'number' ? `n:${Object.is(m.id, -0) ? 0 : m.id}` : `s:${String(m.id)}`;
            const seen = (answers.get(key) ?? 0) + 1;
            answers.set(key, seen);
            if (seen <= (owedIds.get(key) ?? 0)) outstanding--;
          }
          if (m.error !== undefined && typeof m.error.data?.kind !== 'string') withoutKind.push(m);
          if (outstanding === 0) roundDone?.();
        }
        return m.method === undefined && typeof m.id === 'number' && m.id < 1000; // the setup's own calls
      },
    });
    live.push(c);
    await c.initialize();
    c.notify('$/setTrace', { value: 'verbose' });
    const sessionId = 'fuzz-session';
    const opened = await c.call('session/open', { sessionId, predicted: { inputs: [], outputs: outputRefs() }, notifications: ['provenance', 'store', 'progress'] });
    expect(opened.error).toBeUndefined();
    const methods = Object.keys(Requests).filter((m) => !['shutdown', 'store/glob', 'store/query', 'store/queryKeys'].includes(m));
    c.child.once('exit', () => roundDone?.());

    for (let seq = 0; seq < frames.sidecar; seq += ROUND) {
      const chunks: Buffer[] = [];
      for (let i = seq; i < Math.min(seq + ROUND, frames.sidecar); i++) {
        const { bytes, owed } = fuzzFrame(r, i, sessionId, methods);
        chunks.push(bytes);
        if (owed === 'none') continue;
        outstanding++;
        if (owed === 'null') owedNulls++;
        else owedIds.set(owed.id, (owedIds.get(owed.id) ?? 0) + 1);
      }
      const answered = new Promise<void>((resolve) => (roundDone = resolve));
      // Split the round at random places, as a pipe would.
      const all = Buffer.concat(chunks);
      for (let at = 0; at < all.length; ) {
        const n = 1 + r.int(r.chance(0.5) ? 64 : 64 * 1024);
        c.sendRaw(all.subarray(at, at + n));
        at += n;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([answered, new Promise<void>((resolve) => (timer = setTimeout(resolve, 60_000)))]);
      clearTimeout(timer);
      roundDone = null;
      expect(c.child.exitCode, `the sidecar exited during the round from frame ${seq}: ${c.stderr.slice(-2000)}`).toBeNull();
      const missing = [...owedIds].filter(([id, count]) => (answers.get(id) ?? 0) < count);
      expect(missing, `unanswered after the round from frame ${seq}`).toEqual([]);
      expect(nullAnswers).toBe(owedNulls);
    }
    // Each request answered exactly once, every error with a kind, and still serving.
    expect([...owedIds].filter(([id, count]) => answers.get(id) !== count)).toEqual([]);
    expect(withoutKind).toEqual([]);
    const ping = await c.call('server/ping');
    expect(ping.error).toBeUndefined();
    expect(c.child.exitCode).toBeNull();
  }, 180_000);

  it(`${frames.framing} frames in mutated streams to the server's reader: never a throw, nothing read after a framing error (seed ${SEED})`, () => {
    const r = random(SEED + 1);
    const mutations: Array<(b: Buffer) => Buffer> = [
      (b) => Buffer.concat([b.subarray(0, 1 + r.int(20)), Buffer.from([r.pick([0x0a, 0x0d, 0x00, 0xff, 0x3a, 0x20])]), b.subarray(1 + r.int(20))]),
      (b) => Buffer.from(b.toString('latin1').replace(/\r\n/, r.pick(['\n', '\r', '', '\r\r\n'])), 'latin1'),
      (b) => Buffer.from(b.toString('latin1').replace(/Content-Length: (\d+)/, (_m, d: string) => `Content-Length: ${r.pick([`${d}abc`, `${d}.0`, `${d}e1`, `-${d}`, `+${d}`, ` `, `0x${d}`, `${d} ${d}`])}`), 'latin1'),
      (b) => Buffer.from(b.toString('latin1').replace(/Content-Length/, r.pick(['Content-Length: 1\r\nContent-Length', 'Content Length', 'Content-Lengt', 'Contént-Length'])), 'latin1'),
      (b) => {
        const c = Buffer.from(b);
        c[r.int(c.length)] = r.int(256);
        return c;
      },
      (b) => b.subarray(0, r.int(b.length)),
    ];
    let frameCount = 0;
    let streams = 0;
    while (frameCount < frames.framing) {
      streams++;
      const count = 1 + r.int(10);
      const parts: Buffer[] = [];
      for (let i = 0; i < count; i++) parts.push(encodeFrame(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'server/ping', params: { s: 'é'.repeat(r.int(50)) } })));
      const target = r.int(count);
      parts[target] = r.pick(mutations)(parts[target]!);
      frameCount += count;
      const input = new PassThrough();
      const got: Incoming[] = [];
      const reader = new ProtocolReader(input, { maxMessageBytes: 4096, messageTimeoutMs: 0 });
      reader.listen(
        (i) => got.push(i),
        () => {},
        () => {},
      );
      const all = Buffer.concat(parts);
      for (let at = 0; at < all.length; ) {
        const n = 1 + r.int(40);
        expect(() => input.write(all.subarray(at, at + n))).not.toThrow();
        at += n;
      }
      const broken = got.findIndex((i) => i.kind === 'broken');
      if (broken >= 0) {
        // Nothing after a framing error, and the frames before the mutated one read whole.
        expect(got.length).toBe(broken + 1);
        expect(got.slice(0, Math.min(broken, target)).every((i) => i.kind === 'message')).toBe(true);
      }
      for (const i of got) expect(['message', 'unparsable', 'tooLarge', 'broken']).toContain(i.kind);
    }
    expect(streams).toBeGreaterThan(0);
  });
});
