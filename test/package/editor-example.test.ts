/**
 * The README's "From an editor extension" example (examples/editor-extension.ts) type-checks
 * against the package's own exports (`quantum-butler/client`, resolved through package.json
 * as an installed copy would be), so the documented spawn options stay real.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('examples/editor-extension.ts', () => {
  it('compiles with tsc --noEmit against the built package', () => {
    expect(existsSync(join(ROOT, 'dist', 'src', 'client', 'index.d.ts')), 'run npm run build first').toBe(true);
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'examples', 'tsconfig.json')], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(output).toBe('');
  }, 120_000);
});
