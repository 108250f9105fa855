/**
 * A caller's file opened once for a put: the payload step opens and measures it (so a path that
 * cannot be read fails before the put is looked at), and whoever reads the put takes it, open
 * and measured, instead of opening the path again (each open, fstat and close is a turn of the
 * thread pool, and the reader's checks then hold for the file the caller named when it asked).
 *
 * Lent, not handed over: the put's reader takes it in the same turn as the payload was decoded
 * (the butler's put to a datastore starts its read without an await before it). A put refused
 * before reading (an unpredicted ref, a cancelled call), or one whose reader runs only after some
 * other wait (a repository's put looks up its registry first), never takes it: it is closed once
 * that turn ends, and a later reader opens the path itself, as before. Whoever takes it closes it.
 */
import type { promises as fs } from 'node:fs';
import { openRegularForReading } from '../util/regular-file.js';

export class OpenedFile {
  private lease: NodeJS.Immediate | undefined;
  private closing: Promise<void> | undefined;
  private taken = false;

  private constructor(
    readonly path: string,
    readonly handle: fs.FileHandle,
    /** Its size when opened (fstat). */
    readonly size: number,
  ) {}

  /** Open and measure `path` for reading: a regular file (util/regular-file.ts); errors as fs.open's or NotRegularFile (the caller names them). */
  static async open(path: string): Promise<OpenedFile> {
    const { handle, size } = await openRegularForReading(path);
    return new OpenedFile(path, handle, size);
  }

  /** Lend it to a reader in this turn (take); closed when the turn ends if none took it. */
  lend(): this {
    this.lease ??= setImmediate(() => void this.close().catch(() => undefined));
    return this;
  }

  /** The file, for one reader, who then closes it; undefined once taken or closed. */
  take(): OpenedFile | undefined {
    if (this.taken || this.closing) return undefined;
    this.taken = true;
    clearImmediate(this.lease);
    return this;
  }

  /** Close it; once, however often called. */
  close(): Promise<void> {
    clearImmediate(this.lease);
    this.closing ??= this.handle.close();
    return this.closing;
  }
}
