import * as crypto from 'node:crypto';
import type { Hash } from 'node:crypto';

/** SHA-256 as lowercase hex. The one-shot `crypto.hash` (Node >= 20.12) skips the Hash object, a few µs per small value. */
export function sha256Hex(data: Uint8Array): string {
  lastHex = typeof crypto.hash === 'function' ? crypto.hash('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
  return lastHex;
}

/** The last text sha256Hex returned. */
let lastHex: string | undefined;

/**
 * Is `s` the text sha256Hex returned last (lowercase hex, which JSON writes as it is between
 * quotes)? For that string a comparison of references, not a scan: a put's answer and its
 * event write the checksum the put just computed without testing it (~1,400 instructions).
 */
export function isLastSha256Hex(s: string): boolean {
  return s === lastHex;
}

/**
 * daf_butler's datastore checksum: `hashlib.blake2b` (64-byte digest) as lowercase hex, the
 * default algorithm of FileDatastore.computeChecksum, written to records as it is (no label).
 */
export function blake2bHex(data: Uint8Array): string {
  return typeof crypto.hash === 'function' ? crypto.hash('blake2b512', data, 'hex') : crypto.createHash('blake2b512').update(data).digest('hex');
}

/**
 * The algorithms of record checksums: daf_butler's blake2b, and SHA-256 (what our records
 * held before). A record names no algorithm; the digest's length tells them apart.
 */
export type ChecksumAlgorithm = 'blake2b' | 'sha256';

/** Which algorithm wrote a hex checksum (128 digits: blake2b, 64: SHA-256); null if neither. */
export function checksumAlgorithm(checksum: string): ChecksumAlgorithm | null {
  return checksum.length === 128 ? 'blake2b' : checksum.length === 64 ? 'sha256' : null;
}

/**
 * blake2b digests this process computed together with the SHA-256 of the same bytes (its
 * puts), most recent last: bytes whose SHA-256 is the one paired with a record's blake2b are
 * the bytes that blake2b was computed from, so checking such a record takes SHA-256 (about
 * twice as fast here, 13 vs 28 ms per 16 MiB) instead of blake2b. Facts about bytes, not about
 * any file or repository, so one table serves the process; at most DIGEST_PAIRS of them, and
 * only of DIGEST_PAIR_MIN bytes or more: below, blake2b costs little, and a quantum's many small
 * outputs would push the large ones' pairs out (and cost every small put a table update).
 */
const sha256OfBlake2b = new Map<string, string>();
const DIGEST_PAIRS = 4096;
export const DIGEST_PAIR_MIN = 1024 * 1024;

/** Remember that the `size` bytes with blake2b `blake2b` (hex) have SHA-256 `sha256` (hex), if large enough to pay. */
export function rememberDigestPair(blake2b: string, sha256: string, size: number): void {
  rememberLarge(sha256OfBlake2b, blake2b, sha256, size);
}

/** Set `key` in `table` as its most recent entry if `size` is DIGEST_PAIR_MIN or more, dropping the oldest past DIGEST_PAIRS. */
function rememberLarge<V>(table: Map<string, V>, key: string, value: V, size: number): void {
  if (size < DIGEST_PAIR_MIN) return;
  table.delete(key);
  table.set(key, value);
  if (table.size > DIGEST_PAIRS) table.delete(table.keys().next().value!);
}

/**
 * A SHA-256 part-way through some bytes: its state after their first `at` bytes, and the digest of
 * those `at` bytes alone. With it, a check of bytes against their SHA-256 can run on two threads:
 * the first `at` bytes hashed alone must give `head`, and the rest hashed on from `state` must give
 * the whole digest; bytes that pass both are the same bytes (either half otherwise differs, which
 * is a SHA-256 collision). `state` is never updated: take a `copy()`.
 */
export interface Sha256Midpoint {
  at: number;
  head: string;
  state: Hash;
}

/** Midpoints of bytes this process hashed (its puts by path), by their SHA-256 (hex); as the pairs above. */
const midpointOf = new Map<string, Sha256Midpoint>();

/** Remember the midpoint of the `size` bytes with SHA-256 `sha256` (hex), if large enough to pay. */
export function rememberSha256Midpoint(sha256: string, size: number, midpoint: Sha256Midpoint): void {
  rememberLarge(midpointOf, sha256, midpoint, size);
}

/** The midpoint of the bytes with this SHA-256 (hex), if this process hashed them so. */
export function knownSha256Midpoint(sha256: string): Sha256Midpoint | undefined {
  return midpointOf.get(sha256);
}

/** The SHA-256 of the bytes a blake2b checksum was computed from, if this process computed both. */
export function knownSha256(checksum: string): string | undefined {
  return checksum.length === 128 ? sha256OfBlake2b.get(checksum) : undefined;
}

/** The record checksum of `data` under a policy (null: records carry none); `sha256` when already known. */
export function recordChecksum(policy: ChecksumAlgorithm | null, data: Uint8Array, sha256?: string): string | null {
  if (policy !== 'blake2b') return policy === 'sha256' ? (sha256 ?? sha256Hex(data)) : null;
  const checksum = blake2bHex(data);
  if (sha256 !== undefined) rememberDigestPair(checksum, sha256, data.length);
  return checksum;
}

/**
 * Does a record's checksum, of whichever algorithm wrote it, match these bytes? A checksum
 * of neither algorithm matches nothing. `sha256`: the bytes' SHA-256 when already known.
 */
export function checksumMatches(checksum: string, data: Uint8Array, sha256?: string): boolean {
  const known = knownSha256(checksum);
  if (known !== undefined) return known === (sha256 ?? sha256Hex(data));
  const algorithm = checksumAlgorithm(checksum);
  return algorithm !== null && checksum === recordChecksum(algorithm, data, sha256);
}

/**
 * Two checksums say the same bytes may differ only if one algorithm wrote both: a SHA-256
 * and a blake2b of the same bytes always differ, so they cannot be compared; nor can a
 * record without a checksum (daf_butler's default) and one with: their other fields decide.
 */
export function checksumsDiffer(a: string | null, b: string | null): boolean {
  if (a === b || a === null || b === null) return false;
  const x = checksumAlgorithm(a);
  const y = checksumAlgorithm(b);
  return x === null || y === null || x === y;
}
