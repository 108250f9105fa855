/**
 * A host's file paths name regular files. Anything else is refused before a byte moves:
 *
 * - a FIFO: opening one waits for the other end, on a thread-pool thread (four of them serve
 *   every session's file work), and the process cannot exit while one waits; nor does a FIFO
 *   or a device have the size a put is read by;
 * - the sidecar's own stdin and stdout (`/dev/stdout`, `/proc/self/fd/1` are pipes): bytes
 *   written there would land between the protocol's frames;
 * - devices, sockets, directories.
 *
 * Opened with O_NONBLOCK, an open never waits (a FIFO without a reader fails at once, one
 * without a writer opens), and fstat then says what was opened. On a regular file O_NONBLOCK
 * changes nothing.
 *
 * Both errors here are the caller's argument, not a failure a retry could mend: each has a
 * `code` no errno has, so the layers that name errors tell them from the system's (NOT_OURS).
 */
import { constants as bufferConstants } from 'node:buffer';
import { constants, promises as fs, type Stats } from 'node:fs';

export const NOT_REGULAR = 'ENOTREG';
export const TOO_LARGE_TO_HOLD = 'ETOOLARGETOHOLD';
/** The codes of this module's errors. */
export const NOT_OURS: ReadonlySet<string> = new Set([NOT_REGULAR, TOO_LARGE_TO_HOLD]);

/** A file to be read whole that no buffer can hold (Node's largest, 4 GiB here). */
export class TooLargeToHold extends Error {
  readonly code = TOO_LARGE_TO_HOLD;
  constructor(
    readonly path: string,
    readonly size: number,
  ) {
    super(`${path} is ${size} bytes, over the ${bufferConstants.MAX_LENGTH} one value in memory can hold: it cannot be read whole (a Bytes dataset in a repository's file datastore is copied, not read whole)`);
  }
}

/** Throw TooLargeToHold if a file of `size` bytes cannot be read into one buffer. */
export function assertFitsInMemory(path: string, size: number): void {
  if (size > bufferConstants.MAX_LENGTH) throw new TooLargeToHold(path, size);
}

export class NotRegularFile extends Error {
  readonly code = NOT_REGULAR;
  constructor(
    readonly path: string,
    readonly type: string,
  ) {
    super(`${path} is ${type}, not a regular file: file paths must name regular files`);
  }
}

/** What a non-regular file is, in a few words. */
function typeOf(st: Stats): string {
  if (st.isFIFO()) return 'a pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a file';
}

/** Throw NotRegularFile unless `st` is a regular file's. */
export function assertRegular(path: string, st: Stats): void {
  if (!st.isFile()) throw new NotRegularFile(path, typeOf(st));
}

/** Open `path` to read it, and its size: a regular file, else NotRegularFile (nothing read). */
export async function openRegularForReading(path: string): Promise<{ handle: fs.FileHandle; size: number }> {
  const handle = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    assertRegular(path, st);
    return { handle, size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Open `path` to write it from its start, created if missing: a regular file, else NotRegularFile (nothing written). */
export async function openRegularForWriting(path: string): Promise<fs.FileHandle> {
  // Checked before the open too, for the error's sake: a FIFO without a reader fails the open (ENXIO).
  await assertRegularOrMissing(path);
  const handle = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NONBLOCK, 0o666);
  try {
    assertRegular(path, await handle.stat());
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** A destination to be replaced (or made): missing, or a regular file (through any symbolic links), else NotRegularFile. */
export async function assertRegularOrMissing(path: string): Promise<void> {
  let st: Stats;
  try {
    st = await fs.stat(path);
  } catch {
    return; // missing (or not reachable: the write's own error will say)
  }
  assertRegular(path, st);
}
