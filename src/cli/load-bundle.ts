/**
 * Runs the built CLI's bundles (`dist/src/cli.start.cjs` first, then `dist/src/cli.bundle.cjs`, see scripts/bundle-cli.ts), each with its own V8
 * code cache: Node 20 caches no compiled code for ES modules (`module.enableCompileCache` is
 * Node 22), so the bundle is one CommonJS script compiled through `vm.Script`, whose
 * `cachedData` skips parsing and compiling it again (about a third of a start). The cache is
 * made by the first process that lives a second (`createCachedData` then holds every function
 * compiled so far: the serving path and `initialize`) and written once, atomically, to
 * the package's `dist/.cache/`; where that cannot be written (a read-only or shared install),
 * to the user's cache directory (`$XDG_CACHE_HOME/quantum-butler`, else
 * `~/.cache/quantum-butler`), where the file is named by the bundle's CRC-32 too, so that
 * builds sharing the directory keep their own caches. QUANTUM_BUTLER_CODE_CACHE names the one
 * directory to use instead (`off`: none). Node 20's V8 does not checksum a cache and aborts the process on a corrupt one, so the
 * file carries its own header: the bundle's length and CRC-32 (a cache is only for the bytes it
 * was made from; the bundle is ASCII, read as latin1) and the payload's. A cache that is
 * missing, unreadable, corrupt, or rejected by V8 (another Node) is ignored and remade; a
 * directory that cannot be written is no error.
 * Nothing is written to stdout (it carries the protocol); NODE_DEBUG=qb-code-cache tells on
 * stderr what happened (each line names the cache file, so the bundle). Kept free of the bundles' own modules: it runs before them.
 */
import { createRequire } from 'node:module';

// Node's own modules through require (process.getBuiltinModule from Node 20.16): an ES module
// import of each would build an ES module facade of it at every start (a few ms of CPU).
type Fs = typeof import('node:fs');
type Builtin = <T>(id: string) => T;
const builtin: Builtin = (process as { getBuiltinModule?: Builtin }).getBuiltinModule ?? (createRequire(import.meta.url) as Builtin);
const { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } = builtin<Fs>('node:fs');
const { homedir } = builtin<typeof import('node:os')>('node:os');
const { dirname, join } = builtin<typeof import('node:path')>('node:path');
const { fileURLToPath, pathToFileURL } = builtin<typeof import('node:url')>('node:url');
const { debuglog } = builtin<typeof import('node:util')>('node:util');
const vm = builtin<typeof import('node:vm')>('node:vm');

/** What the main bundle exports: each entry point, loaded (and run) when called. */
export interface Bundle {
  cli(): Promise<unknown>;
  /** Server mode's modules, for the start-up bundle's front door (src/cli/front-door.ts). */
  server(): unknown;
  sqliteWorker(): Promise<unknown>;
  postgresWorker(): Promise<unknown>;
  parserWorker(): Promise<unknown>;
}

/** The main bundle's file, beside this module's folder; the start-up bundle's is `cli.start.cjs` (src/cli/startup.ts). */
export const MAIN_BUNDLE = 'cli.bundle.cjs';

const debug = debuglog('qb-code-cache');
const MAGIC = 0x31384251; // "QB81" little-endian
const HEADER_BYTES = 24;
/** Written this long after the start, if the process still runs: by then it has served `initialize`. */
const WRITE_AFTER_MS = 1000;
/** The CommonJS wrapper, on a line of its own (lineOffset -1 keeps the bundle's line numbers in stack traces). */
const WRAPPER = '(function (exports, require, module, __filename, __dirname, __qbBundleUrl) {\n';

type Crc32 = (data: Uint8Array) => number;

/** Below this many bytes a CRC-32 is computed here: loading node:zlib costs more (~3 ms of a start). */
const SMALL_CRC_BYTES = 256 * 1024;
let crcTable: Int32Array | undefined;

/** CRC-32 (IEEE, as zlib's) of `data`, in JavaScript. */
export function crc32Small(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let crc = -1;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/**
 * The CRC-32 to check caches of a bundle of `bytes` bytes with: this module's for the start-up
 * bundle, zlib's for the main one (zlib.crc32 is Node >= 20.15: on an older Node that bundle
 * runs without a cache).
 */
function crc32For(bytes: number): Crc32 | undefined {
  if (bytes < SMALL_CRC_BYTES) return crc32Small;
  return (builtin<typeof import('node:zlib')>('node:zlib') as { crc32?: Crc32 }).crc32;
}

/**
 * Compile and run the bundle `name` (the main bundle unless named) in `dir` (by default, beside
 * this module's folder: dist/src), through its code cache if there is one. The CLI makes the
 * cache when there is none (`makeCache`); the writer threads only use it.
 */
export function loadBundle<T = Bundle>(makeCache: boolean, name = MAIN_BUNDLE, dir = join(dirname(fileURLToPath(import.meta.url)), '..')): T {
  const file = join(dir, name);
  const bytes = readFileSync(file);
  const crc32 = crc32For(bytes.length);
  const bundleCrc = crc32?.(bytes);
  const paths = crc32 && bundleCrc !== undefined ? cacheFiles(dirname(file), name, bundleCrc) : [];
  let cachePath: string | undefined;
  let cache: Buffer | undefined;
  for (const path of paths) {
    cache = readCache(path, bytes, bundleCrc!, crc32!);
    if (cache) {
      cachePath = path;
      break;
    }
  }
  const script: import('node:vm').Script = new vm.Script(WRAPPER + bytes.toString('latin1') + '\n})', {
    filename: file,
    lineOffset: -1,
    cachedData: cache,
  });
  if (cache && script.cachedDataRejected) debug('rejected by V8: %s', cachePath);
  else if (cache) debug('accepted: %s', cachePath);
  if (makeCache && paths.length > 0 && (!cache || script.cachedDataRejected)) {
    // Where it was found (and rejected), else the first place that can be written.
    const targets = cachePath !== undefined ? [cachePath] : paths;
    setTimeout(() => writeCache(script, targets, bytes, bundleCrc!, crc32!), WRITE_AFTER_MS).unref();
  }
  const module = { exports: {} as T };
  const wrapped = script.runInThisContext() as (...args: unknown[]) => void;
  wrapped.call(module.exports, module.exports, createRequire(file), module, file, dirname(file), pathToFileURL(file).href);
  return module.exports;
}

/** The folder of the module at `moduleUrl` (the CLI's stub passes its own: the bundles lie beside it). */
export function folderOf(moduleUrl: string): string {
  return dirname(fileURLToPath(moduleUrl));
}

/**
 * Where the cache may be, in the order looked at and written to (none when turned off). Named
 * for this Node and architecture (V8 rejects another version's); in the user's directory, which
 * other builds may share, for this bundle too.
 */
function userCacheBase(): string {
  try {
    const home = homedir();
    return home ? join(home, '.cache') : '';
  } catch {
    return ''; // no home directory to speak of
  }
}

function cacheFiles(bundleDir: string, bundle: string, bundleCrc: number): string[] {
  // cli.bundle.cjs: cli-<node>-<arch>; cli.start.cjs: cli.start-<node>-<arch>.
  const name = `${bundle.replace(/(\.bundle)?\.cjs$/, '')}-${process.version}-${process.arch}`;
  const setting = process.env['QUANTUM_BUTLER_CODE_CACHE'];
  if (setting === 'off') return [];
  if (setting) return [join(setting, `${name}.v8cache`)];
  const paths = [join(bundleDir, '..', '.cache', `${name}.v8cache`)];
  const base = process.env['XDG_CACHE_HOME'] || userCacheBase();
  if (base) paths.push(join(base, 'quantum-butler', `${name}-${bundleCrc.toString(16).padStart(8, '0')}.v8cache`));
  return paths;
}

/** The payload of a cache made from exactly these bundle bytes, or undefined (with the reason, under NODE_DEBUG). */
function readCache(path: string, bundle: Buffer, bundleCrc: number, crc32: Crc32): Buffer | undefined {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    debug('none: %s', (err as Error).message);
    return undefined;
  }
  const payload = data.subarray(HEADER_BYTES);
  const ok =
    data.length >= HEADER_BYTES &&
    data.readUInt32LE(0) === MAGIC &&
    data.readUInt32LE(4) === bundle.length &&
    data.readUInt32LE(8) === bundleCrc &&
    data.readUInt32LE(12) === payload.length &&
    data.readUInt32LE(16) === crc32(payload);
  if (!ok) debug('ignored (not made from this bundle, or corrupt): %s', path);
  return ok ? payload : undefined;
}

/**
 * Write the cache as header + payload to a temporary file renamed into place, so no reader sees
 * half a file: at the first of `paths` that can be written.
 */
function writeCache(script: import('node:vm').Script, paths: readonly string[], bundle: Buffer, bundleCrc: number, crc32: Crc32): void {
  let data: Buffer;
  try {
    const payload = script.createCachedData();
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(MAGIC, 0);
    header.writeUInt32LE(bundle.length, 4);
    header.writeUInt32LE(bundleCrc, 8);
    header.writeUInt32LE(payload.length, 12);
    header.writeUInt32LE(crc32(payload), 16);
    data = Buffer.concat([header, payload]);
  } catch (err) {
    debug('not made: %s: %s', paths[0], (err as Error).message);
    return;
  }
  for (const path of paths) {
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(tmp, data);
      renameSync(tmp, path);
      debug('written: %s', path);
      return;
    } catch (err) {
      // A read-only package or a full disk: try the next place; with none, the next start
      // compiles again, as without a cache.
      debug('not written: %s: %s', path, (err as Error).message);
      try {
        rmSync(tmp, { force: true });
      } catch {
        // The directory is not there to hold it either.
      }
    }
  }
}
