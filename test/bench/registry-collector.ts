/**
 * One collector of registry-bench.ts's concurrent figure, as a process of its own:
 * `node registry-collector.js URL SCHEMA CHAINS LENGTH INDEX` builds a workload of CHAINS
 * chains of LENGTH quanta (its own ids, in run bench/collectorINDEX), prints `ready`, waits for `go` on stdin, collects
 * it into SCHEMA, and prints one JSON line with what it did.
 */
import { performance } from 'node:perf_hooks';
import { collectAndTransfer } from '../../src/repository/collect-and-transfer.js';
import { PgRegistry } from '../../src/repository/postgres/registry.js';
import { buildWorkload } from './repository-bench.js';

const [url, schema, chains, length, index] = process.argv.slice(2);
// A run of its own: the collectors' datasets do not collide (same data IDs, other runs).
const { items } = buildWorkload(Number(chains), Number(length), `bench/collector${index}`);
const reg = await PgRegistry.open({ url: url!, schema: schema! });
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
const t0 = performance.now();
const report = await collectAndTransfer(reg, items);
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(`${JSON.stringify({ committed: report.committed, inserted: report.datasets.inserted, retries: report.retries, seconds })}\n`);
await reg.close();
process.exit(0);
