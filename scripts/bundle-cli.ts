/**
 * Part of `npm run build`: replaces the compiled `dist/src/cli.js` and the collect writer
 * threads' scripts (`dist/src/repository/<backend>/bulk-writer-worker.js`) with bundles of our
 * own ~150 modules, split into chunks (`dist/src/chunks/`) so that a start loads only what
 * serving needs. zod is bundled too, English locale only (its ~95 modules loaded one by one
 * cost more at start than anything else; its other locales are ~470 kB nobody uses); the other
 * npm dependencies stay outside: they are installed beside the package anyway, and the package
 * must stay under 1.5 MB unpacked (test/package). Bundles are minified with names kept (stack
 * traces name functions; the dev build's source maps are not shipped). Everything else in
 * dist/ is unchanged, so the library entry points and the Node client import the compiled
 * modules (and zod from node_modules).
 *
 *   node dist/scripts/bundle-cli.js
 */
import { build, type Plugin } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'dist', 'src');
const cli = join(src, 'cli.js');
// The collect writer threads run these scripts (found beside the repository/ folder).
const workers = ['sqlite', 'postgres'].map((backend) => join(src, 'repository', backend, 'bulk-writer-worker.js'));
/** Where the shared and lazily imported parts go (trim-library leaves them alone). */
const chunks = join(src, 'chunks');

/** Every dependency but zod stays outside (better-sqlite3 is native; pg is loaded only by a repository that uses it). */
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const external = Object.keys(pkg.dependencies).filter((d) => d !== 'zod').flatMap((d) => [d, `${d}/*`]);

/**
 * zod's `locales` namespace (every language, reachable through `z` so never tree-shaken) as
 * English only: the one locale zod itself sets up and the one our errors are written in.
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes('/node_modules/zod/') ? { path: 'zod-locales', namespace: 'zod-locales', pluginData: args.resolveDir } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from '../locales/en.js';`,
      resolveDir: args.pluginData as string,
      loader: 'js',
    }));
  },
};

// One build of the three entry points with code splitting: what serving does not need at start
// (the repository layer, the commands, replay, report, demo, retrieval and Zip: each behind a
// dynamic import()) lands in chunks loaded on first use, so a start compiles and runs only the
// serving path; the workers share the repository layer's chunks instead of carrying copies.
rmSync(chunks, { recursive: true, force: true }); // no stale chunk of an earlier build is shipped
await build({
  entryPoints: [cli, ...workers],
  outdir: src,
  outbase: src,
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  plugins: [zodEnglishOnly],
  minify: process.env.QB_BUNDLE_MINIFY !== '0', // 0: readable profiles
  keepNames: true,
  sourcemap: true,
  logLevel: 'warning',
});
