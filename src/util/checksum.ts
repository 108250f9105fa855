import * as crypto from 'node:crypto';

/** SHA-256 as lowercase hex. The one-shot `crypto.hash` (Node >= 20.12) skips the Hash object, a few µs per small value. */
export function sha256Hex(data: Uint8Array): string {
  return typeof crypto.hash === 'function' ? crypto.hash('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
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

/** The record checksum of `data` under a policy (null: records carry none); `sha256` when already known. */
export function recordChecksum(policy: ChecksumAlgorithm | null, data: Uint8Array, sha256?: string): string | null {
  return policy === 'blake2b' ? blake2bHex(data) : policy === 'sha256' ? (sha256 ?? sha256Hex(data)) : null;
}

/**
 * Does a record's checksum, of whichever algorithm wrote it, match these bytes? A checksum
 * of neither algorithm matches nothing. `sha256`: the bytes' SHA-256 when already known.
 */
export function checksumMatches(checksum: string, data: Uint8Array, sha256?: string): boolean {
  const algorithm = checksumAlgorithm(checksum);
  return algorithm !== null && checksum === recordChecksum(algorithm, data, sha256);
}

/**
 * Two checksums say the same bytes may differ only if one algorithm wrote both: a SHA-256
 * and a blake2b of the same bytes always differ, so they cannot be compared.
 */
export function checksumsDiffer(a: string | null, b: string | null): boolean {
  if (a === b) return false;
  if (a === null || b === null) return true;
  const x = checksumAlgorithm(a);
  const y = checksumAlgorithm(b);
  return x === null || y === null || x === y;
}
