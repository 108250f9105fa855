/** The file store's temp files left in a tree, for tests that check none stays behind. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Every `.qbtmp-` file under `path`. */
export function temps(path: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...temps(join(path, e.name)));
    else if (e.name.startsWith('.qbtmp-')) out.push(join(path, e.name));
  }
  return out;
}
