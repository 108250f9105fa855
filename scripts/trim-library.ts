/**
 * Part of `npm run build`, after bundle-cli: rewrites the compiled library modules under
 * dist/src and dist/protocol without their comments and whitespace (esbuild; names and
 * syntax kept), so the npm package stays under 1.5 MB (decimal, as npm reports it) unpacked.
 * The TypeScript sources and the .d.ts files keep their doc comments; each module's source
 * map is regenerated through the tsc map, so it still points at the .ts source. The CLI bundle
 * (dist/src/cli.bundle.cjs, not a .js) and its stubs (dist/src/cli.js and the collect workers)
 * are left alone. The JSON data files tsc copies (the dimension universe) are rewritten
 * compactly too.
 *
 *   node dist/scripts/trim-library.js
 */
import { build } from 'esbuild';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'dist');

/** The bundle's stubs: a few lines each, trimming them would gain nothing. */
const bundled = new Set(['src/cli.js', 'src/repository/sqlite/bulk-writer-worker.js', 'src/repository/postgres/bulk-writer-worker.js', 'src/repository/provenance-parser-worker.js']);

function filesEnding(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return filesEnding(p, ext);
    return e.name.endsWith(ext) ? [p] : [];
  });
}
const modules = (dir: string): string[] => filesEnding(dir, '.js').filter((p) => !bundled.has(relative(dist, p).split('\\').join('/')));

for (const f of filesEnding(join(dist, 'src'), '.json')) writeFileSync(f, JSON.stringify(JSON.parse(readFileSync(f, 'utf8'))));

const files = [...modules(join(dist, 'src')), ...modules(join(dist, 'protocol'))].filter((f) => !readFileSync(f, 'utf8').startsWith('#!'));
await build({
  entryPoints: files,
  outdir: dist,
  outbase: dist,
  allowOverwrite: true,
  bundle: false,
  platform: 'node',
  format: 'esm',
  // No syntax lowering: the modules are already tsc's output for Node 20 (lowering would drop
  // the `with { type: 'json' }` of the dimension universe's import).
  target: 'esnext',
  legalComments: 'none',
  // Whitespace only: names and syntax stay as tsc wrote them (stack traces name our functions).
  minifyWhitespace: true,
  // Maps are written but not linked from the modules: the package does not ship them.
  sourcemap: 'external',
  logLevel: 'warning',
});
