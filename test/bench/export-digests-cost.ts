/**
 * What the input digests cost a provenance export (producer-digests.ts), not part of `npm run bench`:
 * a graph of `chains` x `length` quanta (default 20 x 100 = 2,000), each quantum's inputs the 4
 * outputs of the one before it in its chain, records without checksums (a repository's default),
 * so that every export looks up its inputs' producers. Every quantum is exported as PROV-JSON,
 * in turn; printed: wall and this process's CPU time, statements run (SQLite: statement
 * executions; PostgreSQL: queries sent, BEGIN/COMMIT included, i.e. round trips), and a hash
 * of all the exported documents (the workload's ids are counted, not random) with the count of
 * checksums they carry (inputs' and outputs'), to compare builds' results.
 *
 *   node dist/test/bench/export-digests-cost.js sqlite|postgresql [chains] [length] [rounds]
 *
 * PostgreSQL: the server of QB_TEST_PG_URL (or `npm run pg:start`'s).
 */
import crypto, { createHash } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { NativeProvenance } from '../../protocol/provenance.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';
import { collectAndTransfer } from '../../src/repository/collect-and-transfer.js';
import { exportStoredProvenance } from '../../src/repository/export-formats.js';
import type { Registry } from '../../src/repository/registry.js';
import { SqliteRegistry } from '../../src/repository/sqlite/registry.js';
import { pgTestUrl } from '../support/pg-url.js';
import { buildWorkload } from './repository-bench.js';

const [kind = 'sqlite', chains = '20', length = '100', rounds = '3'] = process.argv.slice(2);

let statements = 0;
function countStatements(): void {
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, (...a: unknown[]) => unknown>;
  for (const m of ['all', 'get', 'run', 'iterate']) {
    const f = proto[m]!;
    proto[m] = function (this: unknown, ...a: unknown[]) {
      statements++;
      return f.apply(this, a);
    };
  }
  const exec = Database.prototype.exec;
  Database.prototype.exec = function (this: Database.Database, sql: string) {
    statements++;
    return exec.call(this, sql);
  };
  probe.close();
  const query = pg.Client.prototype.query as (...a: unknown[]) => unknown;
  (pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown }).query = function (this: unknown, ...a: unknown[]) {
    statements++;
    return query.apply(this, a);
  };
}

/** The workload's ids made by a counter (v4-shaped) instead of at random, so that runs and builds export the same documents. */
function countedUuids(): void {
  let n = 0;
  crypto.randomUUID = () => {
    const h = (++n).toString(16).padStart(32, '0');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20)}` as ReturnType<typeof crypto.randomUUID>;
  };
  syncBuiltinESMExports();
}

/** The bench workload rewired: each quantum reads all 4 outputs of the one before it; no record checksums. */
function workload(): { items: ReturnType<typeof buildWorkload>['items']; quanta: string[] } {
  countedUuids();
  const { items } = buildWorkload(Number(chains), Number(length));
  let prev: readonly DatasetRef[] | undefined;
  for (const [n, item] of items.entries()) {
    const { quantum } = item;
    const provenance = item.provenance as NativeProvenance;
    const first = n % Number(length) === 0;
    const inputs = first ? quantum.inputs : prev!;
    const byId = new Map(provenance.outputs.map((o) => [o.ref.id, o.ref]));
    const refOf = (r: DatasetRef) => byId.get(r.id) ?? { id: r.id, datasetType: r.datasetType.name, storageClass: 'StructuredDataDict', dimensions: [...r.datasetType.dimensions], dataId: { ...r.dataId }, run: r.run };
    const ids = inputs.map((r) => r.id).sort();
    const template = provenance.inputs[0]!;
    Object.assign(quantum, { inputs });
    provenance.predictedInputs = ids;
    provenance.availableInputs = ids;
    provenance.actualInputs = ids;
    provenance.inputs = inputs.map((r) => ({ ...template, ref: refOf(r), state: 'loaded', loads: 1, unusedReason: null }));
    for (const perId of Object.values(provenance.datastoreRecords)) {
      for (const rows of Object.values(perId.records)) for (const tables of Object.values(rows)) for (const list of Object.values(tables)) for (const row of list) delete row['checksum'];
    }
    // Outputs this quantum wrote, kept for the next one's inputs (the next document's refs are built from them).
    prev = quantum.outputs;
    for (const o of provenance.outputs) byId.set(o.ref.id, o.ref);
  }
  return { items, quanta: items.map((i) => (i.provenance as NativeProvenance).quantum.id) };
}

async function open(): Promise<{ reg: Registry; done: () => Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'qb-export-digests-'));
    const reg = await SqliteRegistry.open(join(dir, 'registry.sqlite3'));
    return { reg, done: async () => (await reg.close(), rmSync(dir, { recursive: true, force: true })) };
  }
  const url = pgTestUrl();
  if (!url) throw new Error('no PostgreSQL server: set QB_TEST_PG_URL');
  const { PgRegistry } = await import('../../src/repository/postgres/registry.js');
  const reg = await PgRegistry.open({ url, schema: `bench_digests_${process.pid}`, create: true });
  return { reg, done: async () => (await reg.dropSchema(), await reg.close()) };
}

const { items, quanta } = workload();
const { reg, done } = await open();
try {
  const report = await collectAndTransfer(reg, items);
  if (report.conflicts.length > 0) throw new Error(`collect conflicts: ${JSON.stringify(report.conflicts.slice(0, 3))}`);
  countStatements();
  for (const q of quanta.slice(0, 50)) await exportStoredProvenance(reg, q, 'prov'); // warm-up
  for (let r = 0; r < Number(rounds); r++) {
    const hash = createHash('sha256');
    let checksums = 0;
    statements = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const q of quanta) {
      const doc = await exportStoredProvenance(reg, q, 'prov');
      const text = JSON.stringify(doc);
      hash.update(text);
      checksums += text.split('"qb:checksum"').length - 1;
    }
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      JSON.stringify({
        kind,
        quanta: quanta.length,
        wallMs: Math.round(wall),
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
        statements,
        statementsPerExport: Math.round((statements / quanta.length) * 10) / 10,
        checksums,
        result: hash.digest('hex').slice(0, 16),
      }),
    );
  }
} finally {
  await done();
}
