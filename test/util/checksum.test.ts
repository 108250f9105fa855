/**
 * Record checksums and the digest pairs a process remembers: a blake2b computed with the
 * bytes' SHA-256 is checked by that SHA-256, both ways (same bytes match, other bytes do not),
 * and the table keeps a bounded number of pairs, the most recent.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DIGEST_PAIR_MIN, blake2bHex, checksumMatches, isLastSha256Hex, knownSha256, recordChecksum, rememberDigestPair, sha256Hex } from '../../src/util/checksum.js';

describe('digest pairs', () => {
  it('a blake2b computed with the SHA-256 at hand is remembered with it; without it, not', () => {
    const data = randomBytes(DIGEST_PAIR_MIN);
    const other = randomBytes(DIGEST_PAIR_MIN);
    expect(knownSha256(blake2bHex(data))).toBeUndefined();
    expect(recordChecksum('blake2b', other)).toBe(blake2bHex(other));
    expect(knownSha256(blake2bHex(other))).toBeUndefined();
    expect(recordChecksum('blake2b', data, sha256Hex(data))).toBe(blake2bHex(data));
    expect(knownSha256(blake2bHex(data))).toBe(sha256Hex(data));
    // SHA-256 records need no pair.
    expect(knownSha256(sha256Hex(data))).toBeUndefined();
  });

  it('small bytes leave no pair: their blake2b costs little, and they would push out the large ones', () => {
    const small = randomBytes(DIGEST_PAIR_MIN - 1);
    expect(recordChecksum('blake2b', small, sha256Hex(small))).toBe(blake2bHex(small));
    expect(knownSha256(blake2bHex(small))).toBeUndefined();
    rememberDigestPair(blake2bHex(small), sha256Hex(small), small.length);
    expect(knownSha256(blake2bHex(small))).toBeUndefined();
  });

  it('a remembered pair decides checksumMatches by SHA-256: the same bytes match, others do not', () => {
    const data = randomBytes(4096);
    const changed = Buffer.from(data);
    changed[17]! ^= 1;
    rememberDigestPair(blake2bHex(data), sha256Hex(data), DIGEST_PAIR_MIN);
    expect(checksumMatches(blake2bHex(data), data)).toBe(true);
    expect(checksumMatches(blake2bHex(data), data, sha256Hex(data))).toBe(true);
    expect(checksumMatches(blake2bHex(data), changed)).toBe(false);
    expect(checksumMatches(blake2bHex(data), changed, sha256Hex(changed))).toBe(false);
    // The SHA-256 decides, not blake2b: a (made-up) pair is taken at its word.
    const madeUp = 'ab'.repeat(64);
    rememberDigestPair(madeUp, sha256Hex(changed), DIGEST_PAIR_MIN);
    expect(checksumMatches(madeUp, changed)).toBe(true);
    expect(checksumMatches(madeUp, data)).toBe(false);
  });

  it('keeps the 4,096 most recent pairs', () => {
    const key = (i: number) => i.toString(16).padStart(128, '0');
    for (let i = 0; i < 4097; i++) rememberDigestPair(key(i), `sha-${i}`, DIGEST_PAIR_MIN);
    expect(knownSha256(key(0))).toBeUndefined();
    expect(knownSha256(key(1))).toBe('sha-1');
    // Remembered again, a pair is the most recent: the next one pushes out key(2), not it.
    rememberDigestPair(key(1), 'sha-1', DIGEST_PAIR_MIN);
    rememberDigestPair(key(5000), 'sha-5000', DIGEST_PAIR_MIN);
    expect(knownSha256(key(1))).toBe('sha-1');
    expect(knownSha256(key(2))).toBeUndefined();
    expect(knownSha256(key(5000))).toBe('sha-5000');
  });
});

describe('isLastSha256Hex', () => {
  it('is true for the text sha256Hex returned last (or an equal one), false for any other', () => {
    const a = sha256Hex(Buffer.from('a'));
    expect(isLastSha256Hex(a)).toBe(true);
    expect(isLastSha256Hex(a.split('').join(''))).toBe(true);
    expect(isLastSha256Hex(a.toUpperCase())).toBe(false);
    const b = sha256Hex(Buffer.from('b'));
    expect(isLastSha256Hex(a)).toBe(false);
    expect(isLastSha256Hex(b)).toBe(true);
    expect(isLastSha256Hex('"')).toBe(false);
  });
});
