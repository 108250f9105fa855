/** Put payloads: files are read and hashed together; decoded bytes are handed over only when they own their memory. */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePutPayload, readHashed } from '../../src/server/payload.js';
import { MemoryStore } from '../../src/store/memory-store.js';

const dir = mkdtempSync(join(tmpdir(), 'qb-payload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('readHashed', () => {
  it.each([
    ['empty', 0],
    ['small', 1000],
    ['several read chunks', 9 * 1024 * 1024 + 17],
  ])('%s file: the bytes and their sha256', async (_name, size) => {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 12)) & 0xff;
    const path = join(dir, `f${size}.bin`);
    writeFileSync(path, bytes);
    const read = await readHashed(path);
    expect(read.bytes.equals(bytes)).toBe(true);
    expect(read.sha256).toBe(sha(bytes));
  });

  it('a missing file fails with ENOENT', async () => {
    await expect(readHashed(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('decodePutPayload', () => {
  it('a file payload carries its checksum and is handed over', async () => {
    const path = join(dir, 'payload.bin');
    writeFileSync(path, Buffer.from('hello'));
    const { source } = await decodePutPayload({ encoding: 'file', path }, 1024);
    expect(source).toMatchObject({ kind: 'bytes', owned: true, sha256: sha(Buffer.from('hello')) });
  });

  it('small base64 (a slice of the shared pool) is not handed over; large base64 is', async () => {
    const small = await decodePutPayload({ encoding: 'base64', data: Buffer.from('abc').toString('base64') }, 1 << 20);
    expect(small.source).toMatchObject({ kind: 'bytes', owned: false });
    const big = await decodePutPayload({ encoding: 'base64', data: Buffer.alloc(64 * 1024, 1).toString('base64') }, 1 << 20);
    expect(big.source).toMatchObject({ kind: 'bytes', owned: true });
  });
});

describe('decodePutPayload: the JSON size limit', () => {
  // The limit applies to the compact JSON text; most values are measured by a bound alone.
  const sizeOf = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));
  it.each([
    ['ASCII', { s: 'x'.repeat(200) }],
    ['multi-byte text', { s: 'é€😀'.repeat(40) }],
    ['escapes', { s: '"\\\n\u0001'.repeat(50) }],
    ['numbers', { n: Array.from({ length: 50 }, (_, i) => -1.2345678901234567e-300 * (i + 1)) }],
    ['nesting and keys', { ['k'.repeat(30)]: [[[{ a: null, b: true, c: false }]]], z: {} }],
  ])('%s: accepted at exactly the limit, refused one byte under it', async (_name, value) => {
    const size = sizeOf(value);
    await expect(decodePutPayload({ encoding: 'json', value }, size)).resolves.toMatchObject({ source: { kind: 'value', value } });
    await expect(decodePutPayload({ encoding: 'json', value }, size - 1)).rejects.toMatchObject({
      kind: 'PayloadTooLarge',
      context: { details: { size, maxInlineBytes: size - 1 } },
    });
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
