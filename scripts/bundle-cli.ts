/**
 * Part of `npm run build`: replaces the compiled `dist/src/cli.js` with one bundled file of
 * our own ~150 modules. npm dependencies stay outside: they are installed beside the package
 * anyway, and bundling them (zod alone is ~450 kB, ~230 kB without its locales) does not fit
 * a package that must stay under 1.5 MB unpacked (test/package). The price is start time:
 * zod's modules load one by one (measured on a loaded machine, spawn → initialize answered:
 * median ~640 ms with dependencies bundled, ~990 ms without; minima 420 and 590 ms). The
 * collect writer threads' scripts (`dist/src/repository/<backend>/bulk-writer-worker.js`) are
 * bundled in place the same way. Bundles are minified with names kept (stack traces name
 * functions; the dev build's source maps are not shipped). Everything else in dist/ is
 * unchanged, so the library entry points and the Node client import the compiled modules.
 *
 *   node dist/scripts/bundle-cli.js
 */
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'src', 'cli.js');
// The collect writer threads run these scripts (found beside the bundle's repository/ folder);
// bundled too, so the package ships two files instead of the repository layer's modules.
const workers = ['sqlite', 'postgres'].map((backend) => join(root, 'dist', 'src', 'repository', backend, 'bulk-writer-worker.js'));

for (const file of [cli, ...workers]) {
  await build({
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Dependencies (better-sqlite3 is native; pg is loaded only by a repository that uses it) stay outside.
    packages: 'external',
    minify: true,
    keepNames: true,
    sourcemap: true,
    logLevel: 'warning',
  });
}
