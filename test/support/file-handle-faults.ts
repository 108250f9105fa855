/**
 * Faults of an open file, injected through the FileHandle class: a file that changes right
 * after it was measured, and a read that fails part-way; and a watch on its reads.
 */
import { promises as fs, type Stats } from 'node:fs';
import { vi } from 'vitest';

type HandleMethods = { stat(this: fs.FileHandle): Promise<Stats>; read(this: fs.FileHandle, ...args: unknown[]): Promise<fs.FileReadResult<Buffer>> };

async function handlePrototype(): Promise<HandleMethods> {
  const probe = await fs.open(process.execPath, 'r');
  await probe.close();
  return Object.getPrototypeOf(probe) as HandleMethods;
}

/** The next fstat of an open regular file of `size` bytes returns, then `change` runs (as if another process wrote the file while it was read). */
export async function changeAfterStat(size: number, change: () => void): Promise<void> {
  const proto = await handlePrototype();
  const stat = proto.stat;
  let done = false;
  vi.spyOn(proto, 'stat').mockImplementation(async function (this: fs.FileHandle) {
    const st = await stat.call(this);
    if (!done && st.isFile() && st.size === size) {
      done = true;
      change();
    }
    return st;
  });
}

/** Reads at or past `position` (given as the fourth argument) fail at once with EIO; earlier ones succeed, late. */
export async function failReadsFrom(position: number): Promise<void> {
  const proto = await handlePrototype();
  const read = proto.read;
  vi.spyOn(proto, 'read').mockImplementation(async function (this: fs.FileHandle, ...args: unknown[]) {
    if (typeof args[3] === 'number' && args[3] >= position) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', syscall: 'read' });
    const r = await read.apply(this, args);
    await new Promise((resolve) => setTimeout(resolve, 20));
    return r;
  });
}

/** Calls `listener` with the position (the fourth argument) of every read of an open file, as it is asked for. */
export async function watchReads(listener: (position: unknown) => void): Promise<void> {
  const proto = await handlePrototype();
  const read = proto.read;
  vi.spyOn(proto, 'read').mockImplementation(function (this: fs.FileHandle, ...args: unknown[]) {
    listener(args[3]);
    return read.apply(this, args);
  });
}
