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
