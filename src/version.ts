/** The sidecar's name and version, read once from package.json. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

function findPackageJson(): { name: string; version: string } {
  // Works from src/ (vitest) and dist/src/ (built): walk up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
    } catch {
      dir = dirname(dir);
    }
  }
  return { name: 'quantum-butler', version: '0.0.0' };
}

const pkg = findPackageJson();
export const SIDECAR_NAME: string = pkg.name;
export const SIDECAR_VERSION: string = pkg.version;
