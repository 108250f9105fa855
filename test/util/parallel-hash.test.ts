/**
 * Hashes on the worker thread: the digests of node:crypto for the same chunks, several hashes
 * at once, and a worker that lets the process end when idle but not while an answer is owed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RemoteHash, sharedChunk } from '../../src/util/parallel-hash.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('RemoteHash', () => {
  it('gives the digests of node:crypto, for hashes fed in turn', async () => {
    const data = randomBytes(3 * 65536 + 11);
    const chunk = sharedChunk(65536);
    const hashes = [new RemoteHash('blake2b512'), new RemoteHash('sha256')];
    for (let at = 0; at < data.length; at += chunk.length) {
      const part = chunk.subarray(0, data.copy(chunk, 0, at, at + chunk.length));
      // The buffer is refilled only once both hashes are done with it.
      await Promise.all(hashes.map((h) => h.update(part as typeof chunk)));
    }
    expect(await Promise.all(hashes.map((h) => h.digest()))).toEqual([
      createHash('blake2b512').update(data).digest('hex'),
      createHash('sha256').update(data).digest('hex'),
    ]);
    // A hash fed nothing: the digest of no bytes.
    expect(await new RemoteHash('sha256').digest()).toBe(createHash('sha256').digest('hex'));
  });

  it('an unknown algorithm is an error of that hash only', async () => {
    const chunk = sharedChunk(4);
    await expect(new RemoteHash('no-such-hash').update(chunk)).rejects.toThrow(/Hashing failed/);
    const ok = new RemoteHash('sha256');
    await ok.update(chunk);
    expect(await ok.digest()).toBe(createHash('sha256').update(Buffer.alloc(4)).digest('hex'));
  });

  it('a process awaiting a digest waits for it, and ends by itself once idle', () => {
    // The built module in a process of its own: it must neither end before the answer (an
    // unreferenced worker would let it) nor stay alive after (a referenced one would).
    const url = pathToFileURL(join(ROOT, 'dist', 'src', 'util', 'parallel-hash.js')).href;
    const script = `
      const { RemoteHash, sharedChunk } = await import(${JSON.stringify(url)});
      const h = new RemoteHash('sha256');
      await h.update(sharedChunk(8));
      console.log(await h.digest());
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH } });
    expect({ status: run.status, signal: run.signal, stdout: run.stdout.trim() }).toEqual({
      status: 0,
      signal: null,
      stdout: createHash('sha256').update(Buffer.alloc(8)).digest('hex'),
    });
  });
});
