/**
 * A file that changes right after it was measured: the next fstat of an open file of `size`
 * bytes returns, then `change` runs, as if another process wrote the file while it was read.
 */
import { promises as fs } from 'node:fs';
import { vi } from 'vitest';

export async function changeAfterStat(size: number, change: () => void): Promise<void> {
  const probe = await fs.open(process.execPath, 'r');
  const proto = Object.getPrototypeOf(probe) as { stat(this: fs.FileHandle): Promise<import('node:fs').Stats> };
  await probe.close();
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
