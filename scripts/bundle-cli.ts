/**
 * Part of `npm run build`: replaces the compiled `dist/src/cli.js` with one bundled file.
 * Loading the CLI as some 250 modules (zod and its locales are about a hundred) took
 * ~170 ms of the sidecar's start; one file halves that. better-sqlite3 stays outside (a
 * native addon), so do pg and pg-copy-streams (loaded on first use of a PostgreSQL registry), and the collect writer thread still runs the compiled
 * `dist/src/repository/bulk-writer-worker.js`. Everything else in dist/ is unchanged, so the
 * library entry points and the Node client import the compiled modules as before.
 *
 *   node dist/scripts/bundle-cli.js
 */
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'src', 'cli.js');

await build({
  entryPoints: [cli],
  outfile: cli,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native or optional pieces stay outside; the PostgreSQL client is loaded only by a repository that uses it.
  external: ['better-sqlite3', 'pg', 'pg-copy-streams', 'pg-native'],
  // Bundled CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __qbCreateRequire } from 'node:module'; const require = __qbCreateRequire(import.meta.url);" },
  sourcemap: true,
  logLevel: 'warning',
});
