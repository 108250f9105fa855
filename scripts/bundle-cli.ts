/**
 * Part of `npm run build`: bundles the CLI and the collect writer threads' scripts into one
 * CommonJS script, `dist/src/cli.bundle.cjs`, and replaces the compiled `dist/src/cli.js` and
 * `dist/src/repository/<backend>/bulk-writer-worker.js` with stubs that run it through
 * src/cli/load-bundle.ts, which compiles it with a V8 code cache (Node 20 has none for ES
 * modules). What serving does not need at start (the method families but the lifecycle one, with
 * their protocol schemas: src/server/lazy-families.ts; the repository layer, the commands,
 * replay, report, demo, retrieval and Zip, the writer threads: each behind a dynamic import()) stays in
 * the bundle as esbuild's lazily initialised modules: a start runs only the serving path. zod is
 * bundled, English locale only (its ~95 modules loaded one by one cost more at start than
 * anything else; its other locales are ~470 kB nobody uses), and so is uuid (3 kB bundled, ~20
 * CommonJS files to resolve and compile at every start otherwise); the other npm dependencies
 * stay outside: they are installed beside the package anyway, and the package must stay under
 * 1.5 MB unpacked (test/package). vscode-jsonrpc is bundled as well (66 kB: resolving and
 * compiling its CommonJS files at every start cost 10-20 ms of CPU; bundled, it is in the code
 * cache). Minified with
 * names kept (stack traces name functions; the source map is not shipped). Everything else in
 * dist/ is unchanged, so the library entry points and the Node client import the compiled
 * modules (and zod and uuid from node_modules).
 *
 *   node dist/scripts/bundle-cli.js
 */
import { build, type Plugin } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'dist', 'src');
const cli = join(src, 'cli.js');
const bundle = join(src, 'cli.bundle.cjs');
/** The start-up bundle (src/cli/startup.ts): server mode's start, without zod, vscode-jsonrpc or the server. */
const startBundle = join(src, 'cli.start.cjs');
/** What the start-up bundle must never hold: loaded at start, they are what it is there to put off. */
const NOT_AT_START = ['zod', 'vscode-jsonrpc', 'uuid'];
// The collect writer and parser threads run these scripts (paths under repository/).
const workers = { sqliteWorker: 'sqlite/bulk-writer-worker.js', postgresWorker: 'postgres/bulk-writer-worker.js', parserWorker: 'provenance-parser-worker.js' } as const;
const workerPath = (rel: string): string => join(src, 'repository', rel);

/** Every dependency but zod, uuid and vscode-jsonrpc stays outside (better-sqlite3 is native; pg is loaded only by a repository that uses it). */
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const BUNDLED = new Set(['zod', 'uuid', 'vscode-jsonrpc']);
const external = Object.keys(pkg.dependencies).filter((d) => !BUNDLED.has(d)).flatMap((d) => [d, `${d}/*`]);

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

// One bundle, three entry points (the Bundle of src/cli/load-bundle.ts), each behind a dynamic
// import(): esbuild initialises a module only when the first import() that reaches it runs.
rmSync(join(src, 'chunks'), { recursive: true, force: true }); // the split build's chunks, from an older dist/
rmSync(join(root, 'dist', '.cache'), { recursive: true, force: true }); // a code cache of the bundle this build replaces
const entry = [
  `export const cli = () => import('./cli.js');`,
  // Synchronous: the front door hands the first chunk of input over within the turn it arrived in.
  `export const server = () => require('./server/start.js');`,
  ...Object.entries(workers).map(([name, rel]) => `export const ${name} = () => import('./repository/${rel}');`),
].join('\n');
/** `Buffer` and `process` as variables of the bundle, not globalThis's accessors (src/util/node-globals.ts). */
const inject = [join(src, 'util', 'node-globals.js')];
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // src/cli/load-bundle.ts passes the bundle's own URL (modules find package.json and the workers' scripts from it).
  define: { 'import.meta.url': '__qbBundleUrl' },
  // import() of an outside package (pg, fflate, ...) as require(): a script run through vm has
  // no module loader of its own (Node 20's vm offers the main one only as an experimental
  // feature, with a warning on stderr); every outside dependency ships CommonJS.
  supported: { 'dynamic-import': false },
  inject,
  charset: 'ascii', // load-bundle reads it as latin1
  minify: process.env.QB_BUNDLE_MINIFY !== '0', // 0: readable profiles
  keepNames: true,
  sourcemap: true,
  logLevel: 'warning',
} as const;
await build({
  ...common,
  stdin: { contents: entry, resolveDir: src, sourcefile: 'cli-bundle-entry.js', loader: 'js' },
  outfile: bundle,
  external,
  plugins: [zodEnglishOnly],
});
// The start-up bundle: every package outside it, so that one reaching it by mistake fails the build below.
const started = await build({
  ...common,
  entryPoints: [join(src, 'cli', 'startup.js')],
  outfile: startBundle,
  external: [...external, ...NOT_AT_START, ...NOT_AT_START.map((d) => `${d}/*`)],
  metafile: true,
});
const outside = Object.values(started.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external && NOT_AT_START.some((d) => i.path === d || i.path.startsWith(`${d}/`))));
if (outside.length > 0) throw new Error(`the start-up bundle imports ${outside.map((i) => i.path).join(', ')}`);

// The entry points: stubs that run the bundle (the shebang stays on the CLI).
// The CLI's stub holds the loader itself: one ES module to resolve, read and link at start, not two.
await build({
  stdin: {
    contents: `import { folderOf, loadBundle } from './cli/load-bundle.js';\nconst dir = folderOf(import.meta.url);\nloadBundle(true, 'cli.start.cjs', dir).start(() => loadBundle(true, undefined, dir));\n`,
    resolveDir: src,
    sourcefile: 'cli-stub.js',
    loader: 'js',
  },
  outfile: cli,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
for (const [name, rel] of Object.entries(workers)) {
  const up = '../'.repeat(rel.split('/').length);
  writeFileSync(workerPath(rel), `import { loadBundle } from '${up}cli/load-bundle.js';\nvoid loadBundle(false).${name}();\n`);
}
