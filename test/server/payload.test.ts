/** Put payloads: files are read and hashed together; decoded bytes are handed over only when they own their memory. */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { changeAfterStat, watchReads } from '../support/file-handle-faults.js';
import { decodeBase64, decodePutPayload, type DecodedPut } from '../../src/server/payload.js';
import { loadPutSource, PARALLEL_HASH_MIN, READ_CHUNK, readHashed } from '../../src/datastore/file-transfer.js';
import { decodeBase64Payload } from '../../src/server/inline-base64.js';
import { parseJsonBytes } from '../../src/util/parse-json-bytes.js';
import { spareBytes } from '../../src/util/large-buffer.js';
import { InvalidArgument, PayloadTooLarge } from '../../src/model/errors.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';
import { collectGarbage } from '../../src/util/collect-garbage.js';

const dir = mkdtempSync(join(tmpdir(), 'qb-payload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('readHashed', () => {
  const C = READ_CHUNK;
  const MiB = 1024 * 1024;
  const varied = (size: number): Buffer => {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 12)) & 0xff;
    return bytes;
  };

  it('once a large file is read, the next buffer of its size is made ahead (its pages written), not while it is read (first: no other spare yet)', async () => {
    const size = 2 * MiB + 5;
    const path = join(dir, 'ahead.bin');
    writeFileSync(path, varied(size));
    await readHashed(path);
    expect(spareBytes()).not.toBe(size);
    for (let i = 0; i < 100 && spareBytes() !== size; i++) await new Promise((r) => setTimeout(r, 10));
    expect(spareBytes()).toBe(size);
    // The next read of that size takes it.
    expect((await readHashed(path)).bytes.equals(varied(size))).toBe(true);
    expect(spareBytes()).toBe(0);
  });

  it.each([
    ['empty', 0],
    ['one-byte', 1],
    ['a chunk less one byte', C - 1],
    ['one-chunk', C],
    ['a chunk and one byte', C + 1],
    ['16 MiB and 3 bytes', 16 * MiB + 3],
  ])('%s file: the bytes and their sha256', async (_name, size) => {
    const bytes = varied(size);
    const path = join(dir, `f${size}.bin`);
    writeFileSync(path, bytes);
    const read = await readHashed(path);
    expect(read.bytes.equals(bytes)).toBe(true);
    expect(read.sha256).toBe(sha(bytes));
  });

  it('a missing file fails with ENOENT', async () => {
    await expect(readHashed(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('below PARALLEL_HASH_MIN, reads in 1 MiB chunks, then one byte past the end (so hashing starts after 1 MiB is in)', async () => {
    expect(C).toBe(MiB);
    const size = 3 * MiB + 3;
    expect(size).toBeLessThan(PARALLEL_HASH_MIN);
    const path = join(dir, 'chunks.bin');
    writeFileSync(path, varied(size));
    const positions: unknown[] = [];
    await watchReads((position) => positions.push(position));
    try {
      expect((await readHashed(path)).bytes.length).toBe(size);
    } finally {
      vi.restoreAllMocks();
    }
    expect(positions).toEqual([...Array.from({ length: 4 }, (_, i) => i * MiB), size]);
  });

  it('hashes each chunk while the next is read, and the last while the byte past the end is read', async () => {
    const bytes = Buffer.alloc(3 * C + 17, 5); // four read chunks
    const path = join(dir, 'overlap.bin');
    writeFileSync(path, bytes);
    const expected = sha(bytes);
    const steps: string[] = [];
    const hashProto = Object.getPrototypeOf(createHash('sha256')) as { update(...args: unknown[]): unknown };
    const update = hashProto.update;
    vi.spyOn(hashProto, 'update').mockImplementation(function (this: unknown, ...args: unknown[]) {
      steps.push('hash');
      return update.apply(this, args);
    });
    await watchReads((position) => steps.push(`read ${String(position)}`));
    try {
      expect((await readHashed(path)).sha256).toBe(expected);
    } finally {
      vi.restoreAllMocks();
    }
    expect(steps).toEqual([`read 0`, `read ${C}`, 'hash', `read ${2 * C}`, 'hash', `read ${3 * C}`, 'hash', `read ${3 * C + 17}`, 'hash']);
  });

  it.each([
    ['an empty', 0],
    ['a one-chunk', C],
  ])('%s file that grows once measured is IOFailure (the byte past its end is there)', async (_name, size) => {
    const path = join(dir, `grows${size}.bin`);
    writeFileSync(path, varied(size));
    await changeAfterStat(size, () => appendFileSync(path, 'more'));
    try {
      await expect(readHashed(path)).rejects.toMatchObject({ kind: 'IOFailure', context: { details: { code: 'ECHANGED', size } } });
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe('decodePutPayload', () => {
  it('decodes inline payloads at once, with no after-put step (nothing to await: no turn of the event loop per put)', async () => {
    for (const p of [{ encoding: 'json', value: { a: 1 } }, { encoding: 'text', text: 'b' }, { encoding: 'base64', data: 'YQ==' }] as const) {
      const decoded = decodePutPayload(p, 1024);
      expect(decoded).not.toBeInstanceOf(Promise);
      expect((decoded as DecodedPut).afterPut).toBeUndefined();
    }
    const file = decodePutPayload({ encoding: 'file', path: join(dir, 'missing.bin'), mode: 'copy' }, 1024);
    expect(file).toBeInstanceOf(Promise);
    await expect(file).rejects.toMatchObject({ kind: 'InvalidArgument' });
  });

  it('a moved file is removed after the put; a copied one has no after-put step', async () => {
    const path = join(dir, 'moved.bin');
    writeFileSync(path, Buffer.from('bye'));
    expect((await decodePutPayload({ encoding: 'file', path, mode: 'copy' }, 1024)).afterPut).toBeUndefined();
    await (await decodePutPayload({ encoding: 'file', path, mode: 'move' }, 1024)).afterPut!();
    expect(existsSync(path)).toBe(false);
  });

  it('a regular file is passed on by its path (and lent open); read whole, it carries its checksum and is handed over', async () => {
    const path = join(dir, 'payload.bin');
    writeFileSync(path, Buffer.from('hello'));
    const { source } = await decodePutPayload({ encoding: 'file', path }, 1024);
    expect(source).toMatchObject({ kind: 'file', path, opened: { path, size: 5 } });
    expect(await loadPutSource(source)).toMatchObject({ kind: 'bytes', owned: true, sha256: sha(Buffer.from('hello')) });
  });

  it('a missing file fails when decoded, before the put looks at anything else', async () => {
    await expect(decodePutPayload({ encoding: 'file', path: join(dir, 'missing.bin') }, 1024)).rejects.toMatchObject({ kind: 'InvalidArgument' });
  });

  it('base64 is decoded into memory of its own and handed over, small (which Node decodes into its shared pool) or large', async () => {
    for (const size of [3, 100, 4000, 64 * 1024]) {
      const { source } = await decodePutPayload({ encoding: 'base64', data: Buffer.alloc(size, 7).toString('base64') }, 1 << 20);
      expect(source).toMatchObject({ kind: 'bytes', owned: true });
      const bytes = (source as { bytes: Buffer }).bytes;
      expect(bytes.equals(Buffer.alloc(size, 7))).toBe(true);
      expect([bytes.byteOffset, bytes.buffer.byteLength]).toEqual([0, size]);
    }
  });

  it('small base64 puts whose record info a session keeps keep their own bytes, not the pools they were decoded in', async () => {
    const reg = StorageClassRegistry.withBuiltins();
    const ds = new MemoryDatastore('InMemoryDatastore@pool', new MemoryStore(), reg);
    const ref = (i: number): DatasetRef => {
      const dataId = { instrument: 'x', visit: i };
      return { id: makeDatasetId('DATAID_TYPE_RUN', 'b', dataId, ['instrument', 'visit'], 'run'), datasetType: makeDatasetType({ name: 'b', storageClass: 'Bytes', dimensions: ['instrument', 'visit'] }), dataId, run: 'run' };
    };
    const n = 2000, size = 100;
    const infos: unknown[] = [];
    const arrayBuffers = (): number => (collectGarbage(), process.memoryUsage().arrayBuffers);
    const before = arrayBuffers();
    for (let i = 0; i < n; i++) {
      const value = Buffer.alloc(size, i & 0xff);
      value.writeUInt32LE(i, 0);
      const { source } = await decodePutPayload({ encoding: 'base64', data: value.toString('base64') }, 1 << 20);
      infos.push((await ds.put(source, ref(i))).info); // as the butler keeps a written output's
      Buffer.from('y'.repeat(600)); // what else a request cuts from the pool (its frame, its answer)
    }
    const perPut = (arrayBuffers() - before) / n;
    expect(infos).toHaveLength(n);
    // Each info held the pool its bytes were a slice of: ~1,000 bytes a put. Now the value and
    // what else this worker's process allocated meanwhile (up to ~140 bytes a put seen).
    expect(perPut).toBeLessThan(4 * size);
  });
});

describe('decodePutPayload: the JSON size limit', () => {
  // The limit applies to the compact JSON text; most values are measured by a bound alone.
  const sizeOf = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));
  it.each([
    ['ASCII', { s: 'x'.repeat(200) }],
    ['multi-byte text', { s: 'é€😀'.repeat(40) }],
    ['escapes', { s: '"\\\n\u0001'.repeat(50) }],
    ['one character needing care, first, inside or last', { a: `"${'x'.repeat(99)}`, b: `${'x'.repeat(50)}\u001f${'x'.repeat(49)}`, c: `${'x'.repeat(99)}\\`, d: `\udfff${'x'.repeat(99)}`, e: `${'x'.repeat(99)}\ud800` }],
    ['numbers', { n: Array.from({ length: 50 }, (_, i) => -1.2345678901234567e-300 * (i + 1)) }],
    ['nesting and keys', { ['k'.repeat(30)]: [[[{ a: null, b: true, c: false }]]], z: {} }],
  ])('%s: accepted at exactly the limit, refused one byte under it', async (_name, value) => {
    const size = sizeOf(value);
    expect(decodePutPayload({ encoding: 'json', value }, size)).toMatchObject({ source: { kind: 'value', value } });
    expect(() => decodePutPayload({ encoding: 'json', value }, size - 1)).toThrow(expect.objectContaining({
      kind: 'PayloadTooLarge',
      context: { details: { size, maxInlineBytes: size - 1 } },
    }));
  });
});

describe('Store.set with adopt', () => {
  it('keeps the handed-over buffer; without adopt the store keeps a copy', async () => {
    const store = new MemoryStore();
    const given = Buffer.from('abc');
    await store.set('a', given, {}, { adopt: true });
    await store.set('b', given, {});
    given[0] = 0x7a; // the caller breaks its promise: only the adopted value sees it
    expect((await store.getData('a')).toString()).toBe('zbc');
    expect((await store.getData('b')).toString()).toBe('abc');
    // Reads are still copies.
    const out = await store.getData('a');
    out[0] = 0x41;
    expect((await store.getData('a')).toString()).toBe('zbc');
  });
});

describe('base64 payloads of large messages, decoded from the message bytes', () => {
  const size = 3 * 1024 * 1024 + 1; // a body over parseJsonBytes' LARGE_BODY, text not a multiple of 3 bytes
  const value = Buffer.alloc(size);
  for (let i = 0; i < size; i++) value[i] = (i * 7 + (i >> 9)) & 0xff;
  const b64 = value.toString('base64');
  const put = (data: string, payload: Record<string, unknown> = { encoding: 'base64', data }) =>
    Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'butler/put', params: { sessionId: 's', ref: { id: 'r' }, payload } }));
  type Msg = { params: { payload: { data: string; encoding: string }; metadata?: { data: string } } };

  it('stand in for the text, and decode to exactly the bytes the text would, once', () => {
    const msg = parseJsonBytes(put(b64), decodeBase64Payload) as Msg;
    expect(msg.params.payload.data).not.toBe(b64); // a token: the text's string was never made
    expect(msg.params.payload.data.length).toBeLessThan(100);
    const limit = Math.floor((b64.length * 3) / 4); // the limit is checked on the text's length, as for text
    const bytes = decodeBase64(msg.params.payload.data, limit, 'The base64 payload');
    expect(bytes.equals(value)).toBe(true);
    expect([bytes.byteOffset, bytes.buffer.byteLength]).toEqual([0, size]); // owned: stored without a copy
    // Taken once: the token is no base64 after that.
    expect(() => decodeBase64(msg.params.payload.data, limit, 'The base64 payload')).toThrow(InvalidArgument);
  });

  it('are refused over the inline limit as the text would be (its size from the text length)', () => {
    const msg = parseJsonBytes(put(b64), decodeBase64Payload) as Msg;
    expect(() => decodeBase64(msg.params.payload.data, Math.floor((b64.length * 3) / 4) - 1, 'The base64 payload')).toThrow(PayloadTooLarge);
  });

  it.each([
    ['a character outside the alphabet', `${b64.slice(0, -8)}!${b64.slice(-7)}`],
    ['an escape (JSON text \\u0041, decoded as the text says)', `${b64.slice(0, -8)}\\u0041${b64.slice(-7)}`],
    ['a length that is no whole number of groups', b64.slice(0, -1)],
    ['padding in the middle', `${b64.slice(0, 4096)}==${b64.slice(4098)}`],
  ])('text the string path reads otherwise is left to it (%s): the same value and the same refusal', (_name, text) => {
    const body = Buffer.from(put('@').toString().replace('"@"', `"${text}"`));
    const msg = parseJsonBytes(body, decodeBase64Payload) as Msg;
    const plain = JSON.parse(body.toString()) as Msg;
    expect(msg.params.payload.data).toBe(plain.params.payload.data);
    const outcome = (data: string) => {
      try {
        return decodeBase64(data, 2 * size, 'The base64 payload').toString('hex');
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(outcome(msg.params.payload.data)).toBe(outcome(plain.params.payload.data));
  });

  it('a raw control character still makes the message unparsable', () => {
    const body = Buffer.from(put('@').toString().replace('"@"', `"${b64.slice(0, -8)}\u0001${b64.slice(-7)}"`));
    expect(() => parseJsonBytes(body, decodeBase64Payload)).toThrow(SyntaxError);
  });

  it('only params.payload.data is taken: base64 elsewhere in a message stays text', () => {
    const body = Buffer.from(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'store/set', params: { data: b64, metadata: { encoding: 'base64', data: b64 }, payload: { encoding: 'text', data: b64 } } }),
    );
    expect(parseJsonBytes(body, decodeBase64Payload)).toEqual(JSON.parse(body.toString()));
  });
});
