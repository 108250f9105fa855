/**
 * Store backend benchmarks. Returns plain numbers (ops/s, ms); printing is the runner's job.
 * Per backend: set/get of 1 KiB values one by one, multiset/multiget of 10k 1 KiB keys in
 * one call (multiset repeated on fresh keys: median, best and every run), glob and
 * queryKeys over a large key set (100k keys; 10k for the file store, see `keys` and `note`
 * in its result), and for SQLite the EXPLAIN QUERY PLAN of the query and the cost of the
 * WAL checkpoint it defers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FileStore, MemoryStore, SqliteStore, type Store } from '../../src/store/index.js';

const KIB = Buffer.alloc(1024, 0x61);
const SINGLE_OPS = 2000;
const MULTI_KEYS = 10_000;
const LARGE_KEYS = 100_000;
const FILE_LARGE_KEYS = 10_000;
const POPULATE_CHUNK = 10_000;

interface Backend {
  name: 'memory' | 'sqlite' | 'file';
  open(dir: string, tag: string): Store;
  largeKeys: number;
  multisetRuns: number;
}

const BACKENDS: Backend[] = [
  { name: 'memory', open: () => new MemoryStore(), largeKeys: LARGE_KEYS, multisetRuns: 5 },
  { name: 'sqlite', open: (dir, tag) => new SqliteStore(join(dir, `${tag}.sqlite`)), largeKeys: LARGE_KEYS, multisetRuns: 5 },
  { name: 'file', open: (dir, tag) => new FileStore(join(dir, tag)), largeKeys: FILE_LARGE_KEYS, multisetRuns: 1 },
];

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const round = (x: number): number => Math.round(x * 100) / 100;

async function singleOps(store: Store): Promise<Record<string, number>> {
  const keys = Array.from({ length: SINGLE_OPS }, (_, i) => `single/k${i}`);
  const setMs = await time(async () => {
    for (const k of keys) await store.set(k, KIB, { n: 1 });
  });
  const getMs = await time(async () => {
    for (const k of keys) await store.get(k);
  });
  return {
    ops: SINGLE_OPS,
    setOpsPerSec: Math.round((SINGLE_OPS / setMs) * 1000),
    getOpsPerSec: Math.round((SINGLE_OPS / getMs) * 1000),
  };
}

async function multiOps(store: Store, runs: number): Promise<Record<string, unknown>> {
  const mds = Array.from({ length: MULTI_KEYS }, (_, i) => ({ i, group: `g${i % 10}` }));
  const datas = mds.map(() => KIB);
  const times: number[] = [];
  let keys: string[] = [];
  // Fresh keys each run; the machine may be shared, so report the median and the best.
  for (let r = 0; r < runs; r++) {
    keys = mds.map((_, i) => `multi${r}/k${i}`);
    times.push(await time(() => store.multiset(keys, datas, mds)));
  }
  const multigetMs = await time(() => store.multiget(keys));
  // Overwrite: every key exists now (update path).
  const multisetOverwriteMs = await time(() => store.multiset(keys, datas, mds));
  const sorted = [...times].sort((a, b) => a - b);
  const out: Record<string, unknown> = {
    keys: MULTI_KEYS,
    multisetMs: round(sorted[Math.floor(sorted.length / 2)]),
    multisetBestMs: round(sorted[0]),
    multisetRunsMs: times.map(round),
    multisetOverwriteMs: round(multisetOverwriteMs),
    multigetMs: round(multigetMs),
  };
  if (store instanceof SqliteStore) {
    // SQLite checkpoints the WAL after writes go idle, outside the call: this is that cost.
    const fresh = mds.map((_, i) => `multi-ckpt/k${i}`);
    out.multisetThenCheckpointMs = round(
      await time(async () => {
        await store.multiset(fresh, datas, mds);
        store.checkpoint();
      }),
    );
  }
  return out;
}

async function largeKeySet(store: Store, n: number): Promise<Record<string, unknown>> {
  const populateMs = await time(async () => {
    for (let start = 0; start < n; start += POPULATE_CHUNK) {
      const count = Math.min(POPULATE_CHUNK, n - start);
      const keys = Array.from({ length: count }, (_, j) => `run${(start + j) % 100}/key${start + j}`);
      await store.multiset(keys, keys.map(() => Buffer.alloc(16)), keys.map((_, j) => ({ run: `run${(start + j) % 100}`, i: start + j })));
    }
  });
  let hits = 0;
  const globAllMs = await time(async () => {
    hits = (await store.glob('**')).length;
  });
  const globAllHits = hits;
  const globPrefixMs = await time(async () => {
    hits = (await store.glob('run7/*')).length;
  });
  const globPrefixHits = hits;
  const globScanMs = await time(async () => {
    hits = (await store.glob('*/key1?')).length;
  });
  const globScanHits = hits;
  const queryKeysMs = await time(async () => {
    hits = (await store.queryKeys({ run: 'run7' })).length;
  });
  const queryKeysHits = hits;
  const queryMs = await time(async () => {
    hits = (await store.query({ run: 'run7' }, ['i'])).length;
  });
  return {
    keys: n,
    populateMs: round(populateMs),
    globAllMs: round(globAllMs),
    globAllHits,
    globPrefixMs: round(globPrefixMs),
    globPrefixHits,
    globScanMs: round(globScanMs),
    globScanHits,
    queryKeysMs: round(queryKeysMs),
    queryKeysHits,
    queryMs: round(queryMs),
    queryHits: hits,
  };
}

export async function runStoreBench(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'qb-store-bench-'));
  const results: Record<string, unknown> = {};
  try {
    for (const backend of BACKENDS) {
      const out: Record<string, unknown> = {};
      let store = backend.open(dir, `${backend.name}-ops`);
      try {
        out.single1KiB = await singleOps(store);
        out.multi1KiB = await multiOps(store, backend.multisetRuns);
      } finally {
        await store.close();
      }
      store = backend.open(dir, `${backend.name}-large`);
      try {
        out.large = await largeKeySet(store, backend.largeKeys);
        if (backend.largeKeys < LARGE_KEYS) {
          out.note = `glob/query measured over ${backend.largeKeys} keys instead of ${LARGE_KEYS}: one file per key makes populating 100k slow`;
        }
        if (store instanceof SqliteStore) out.explainQueryPlan = store.explainQuery({ run: 'run7' }).join('\n');
      } finally {
        await store.close();
      }
      results[backend.name] = out;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}
