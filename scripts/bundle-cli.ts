/**
 * Part of `npm run build`: replaces the compiled `dist/src/cli.js` with one bundled file.
 * Loading the CLI as some 150 modules of our own took a large part of the sidecar's start;
 * one file avoids that. npm dependencies stay outside (they are installed beside the
 * package anyway, and bundling zod alone would add ~450 kB to a package that must stay
 * under 1.5 MB unpacked, see test/package). The collect writer threads' scripts
 * (`dist/src/repository/<backend>/bulk-writer-worker.js`) are bundled in place the same way.
 * Bundles are minified with names kept (stack traces name functions; the dev build's
 * source maps are not shipped).
 * Everything else in dist/ is unchanged, so the library entry points and the Node client
 * import the compiled modules as before.
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
