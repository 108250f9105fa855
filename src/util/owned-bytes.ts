/**
 * Bytes in memory of their own. Node cuts buffers under 4 KiB (a string's bytes, a base64
 * decode) from a shared 8 KiB pool, which every other small buffer of the moment is cut from
 * too, so a slice kept (a stored value, a value handed to a host) keeps its whole pool alive:
 * ~850 bytes for each 100-byte value a sidecar's session kept. What is kept is copied out.
 */
export function ownedBytes(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}

/** Base64 text decoded into memory of its own (see ownedBytes). */
export function bytesOfBase64(text: string): Buffer {
  return ownedBytes(Buffer.from(text, 'base64'));
}
