/** Runs test/store/writer.mjs in child processes (it imports the built dist/ store). */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const WRITER = join(here, 'writer.mjs');
export const BUILT_STORE = join(here, '..', '..', 'dist', 'src', 'store', 'index.js');

export function assertBuilt(): void {
  if (!existsSync(BUILT_STORE)) {
    throw new Error(`${BUILT_STORE} is missing: run \`npm run build\` (or \`npx tsc -p tsconfig.json\`) first`);
  }
}

export function runWriter(kind: 'sqlite' | 'file', path: string, tag: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, kind, path, tag, String(count)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`writer ${tag} exited with ${code ?? signal}: ${stderr}`));
    });
  });
}
