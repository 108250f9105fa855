/** The repository's root, whether this runs from scripts/ (vitest) or dist/scripts/ (node). */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function find(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above scripts/docs');
    dir = up;
  }
  return dir;
}

export const repoRoot = find();
