/** What a file system path may be, checked before the file system is asked (so the answer is the same everywhere). */

/** Longest name of one directory entry (bytes): Linux's NAME_MAX. */
export const NAME_MAX = 255;
/** Longest whole path we use (bytes): Linux's PATH_MAX (4096) less a margin for what we append. */
export const PATH_MAX = 4000;

/** Why `path` cannot name a file (NUL, a segment over NAME_MAX bytes, over PATH_MAX bytes), or undefined. */
export function fsPathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'contains NUL';
  if (Buffer.byteLength(path) > PATH_MAX) return `is longer than ${PATH_MAX} bytes`;
  for (const segment of path.split(/[\\/]/)) {
    if (Buffer.byteLength(segment) > NAME_MAX) return `has a name longer than ${NAME_MAX} bytes`;
  }
  return undefined;
}
