/** repository/*: thin handlers over Repository, the registry and collect-and-transfer. */
import { openRegularForReading } from '../../util/regular-file.js';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import * as P from '../../../protocol/repository.js';
import { wireRef } from '../../butler/provenance.js';
// The repository layer's operations are imported where a handler first needs them: a sidecar
// that never touches a repository does not load them at start.
import type { CollectItem } from '../../repository/collect-and-transfer.js';
import { parseDatasetType, type DatasetType } from '../../model/dataset-type.js';
import { parseDataId } from '../../model/data-coordinate.js';
import { isMinimalRef, parseDatasetRef, refFieldsMismatch, type DatasetRef } from '../../model/dataset-ref.js';
import { normalizeDatasetId } from '../../model/dataset-id.js';
import { parseQuantum } from '../../model/quantum.js';
import { serializeDatastoreRecordData } from '../../model/datastore-records.js';
import { InvalidArgument, PredictedRefMismatch } from '../../model/errors.js';
import type { DatasetRefInput } from '../../../protocol/common.js';
import type { Repository } from '../../repository/repository.js';
import { decodePutPayload, encodeReadValue } from '../payload.js';
import type { Server } from '../server.js';

/** A ref the registry knows: by id, or a full ref checked against it. */
async function registeredRef(repo: Repository, input: DatasetRefInput): Promise<DatasetRef> {
  const id = normalizeDatasetId(input.id);
  const ref = await repo.resolveRef(id);
  if (!isMinimalRef(input)) {
    const given = parseDatasetRef(input, new Map([[ref.datasetType.name, ref.datasetType]]), repo.storageClasses, undefined, repo.universe);
    const mismatch = refFieldsMismatch(ref, given, repo.storageClasses).filter((f) => f !== 'storageClass');
    if (mismatch.length) {
      throw new PredictedRefMismatch(`The ref given for ${id} does not match the registry: ${mismatch.join(', ')} differ.`, {
        datasetId: id,
        details: { fields: mismatch },
      });
    }
  }
  return input.storageClass && input.storageClass !== ref.datasetType.storageClass
    ? { ...ref, datasetType: { ...ref.datasetType, storageClass: input.storageClass } }
    : ref;
}

/** A JSON document given inline or as an absolute file path. */
async function loadDocument(doc: unknown, what: string): Promise<unknown> {
  if (typeof doc !== 'string') return doc;
  const text = await loadDocumentText(doc, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidArgument(`${what} ${doc} is not JSON: ${(err as Error).message}`);
  }
}

/** The text of a JSON document given as an absolute file path (not parsed: collect-and-transfer reads it). */
async function loadDocumentText(doc: string, what: string): Promise<string> {
  if (!isAbsolute(doc)) throw new InvalidArgument(`${what} paths must be absolute: ${JSON.stringify(doc)}`);
  try {
    const { handle } = await openRegularForReading(doc);
    try {
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new InvalidArgument(`Cannot read ${what} ${doc}: ${(err as Error).message}`);
  }
}

/** Documents read at once by repository/collectAndTransfer. */
const READ_CONCURRENCY = 32;

export function registerRepository(server: Server): void {
  const repo = (root: string) => server.repositories.open(root);
  const max = () => server.options.maxInlineBytes;

  server.handle(P.RepositoryCreate, async (p) => {
    const r = await server.repositories.create(p.root, p.config ?? {}, p.registry);
    return { root: r.root, datastoreName: r.datastoreName, config: r.config as unknown as Record<string, unknown> };
  });

  server.handle(P.RepositoryRegisterDatasetType, async (p) => {
    const r = await repo(p.root);
    const dt = parseDatasetType(p.datasetType, undefined, r.universe);
    return r.writes.run(async () => ({ registered: await r.registerDatasetType(dt) }));
  });

  server.handle(P.RepositoryPut, async (p, ctx) => {
    ctx.work.begin('Storing dataset in repository');
    try {
      const decoded = await decodePutPayload(p.payload, max());
      ctx.checkCancelled();
      const r = await repo(p.root);
      const { ref, info, sha256 } = await r.writes.run(() => r.put(p.datasetType, parseDataId(p.dataId), p.run, decoded.source, p.idGenerationMode));
      if (decoded.afterPut) await decoded.afterPut();
      return { ref: wireRef(ref), size: info.file_size, sha256 };
    } finally {
      ctx.work.end();
    }
  });

  server.handle(P.RepositoryGet, async (p, ctx) => {
    const r = await repo(p.root);
    const ref = await registeredRef(r, p.ref);
    const { value, storageClass } = await r.get(ref, { parameters: p.parameters, storageClass: p.storageClass, component: p.component ?? p.ref.component ?? undefined });
    ctx.checkCancelled();
    const { payload, size } = await encodeReadValue(value, storageClass, r.storageClasses, p.as, p.destination, max());
    return { ref: wireRef(ref), storageClass, payload, size };
  });

  server.handle(P.RepositoryQueryDatasets, async (p) => ({
    refs: (await (await repo(p.root)).registry.queryDatasets({ datasetType: p.datasetType, run: p.run, dataId: p.dataId })).map(wireRef),
  }));

  server.handle(P.RepositoryExportRecords, async (p) => {
    const r = await repo(p.root);
    const ids: string[] = [];
    for (const x of p.refs) ids.push((await registeredRef(r, x)).id);
    return { records: { [r.datastoreName]: serializeDatastoreRecordData(await r.exportRecords(ids)) } };
  });

  server.handle(P.RepositoryMakeQuantum, async (p) => {
    const r = await repo(p.root);
    let types: Map<string, DatasetType> | undefined;
    const resolve = async (x: DatasetRefInput): Promise<DatasetRef> =>
      isMinimalRef(x) ? registeredRef(r, x) : parseDatasetRef(x, (types ??= new Map((await r.registry.datasetTypes()).map((d) => [d.name, d]))), r.storageClasses, undefined, r.universe);
    const all = async (xs: DatasetRefInput[]): Promise<DatasetRef[]> => {
      const out: DatasetRef[] = [];
      for (const x of xs) out.push(await resolve(x));
      return out;
    };
    const { makeQuantum } = await import('../../repository/make-quantum.js');
    const made = await makeQuantum(r, {
      taskName: p.taskName,
      dataId: p.dataId ? parseDataId(p.dataId, r.universe) : null,
      inputs: await all(p.inputs),
      initInputs: await all(p.initInputs),
      outputs: p.outputs.map((o) => ({ datasetType: o.datasetType, dataId: parseDataId(o.dataId), run: o.run, mode: o.idGenerationMode })),
      includeRecords: p.includeRecords,
    });
    return { quantum: made.quantum as unknown as Record<string, unknown>, outputs: made.outputs.map(wireRef) };
  });

  server.handle(P.RepositoryCollectAndTransfer, async (p, ctx) => {
    if (p.quanta.length !== p.provenance.length) {
      throw new InvalidArgument(`quanta (${p.quanta.length}) and provenance (${p.provenance.length}) must have the same length.`);
    }
    const r = await repo(p.root);
    ctx.work.begin(p.dryRun ? 'Checking collect-and-transfer' : 'Collecting and transferring');
    try {
      // Documents given as paths are read READ_CONCURRENCY at a time (one after the other,
      // file-system latency alone took longer than the collect itself), kept in batch order.
      const n = p.quanta.length;
      const items = new Array<CollectItem>(n);
      let next = 0;
      let read = 0;
      let failed = false;
      const lane = async (): Promise<void> => {
        while (next < n && !failed) {
          const i = next++;
          ctx.checkCancelled();
          const doc = p.provenance[i];
          const [q, text] = await Promise.all([loadDocument(p.quanta[i], 'quantum'), typeof doc === 'string' ? loadDocumentText(doc, 'provenance') : undefined]);
          // A document read from a file is given as its text: read off this thread, stored verbatim.
          const quantum = parseQuantum(q, r.storageClasses, r.universe);
          items[i] = text !== undefined ? { quantum, provenanceText: text } : { quantum, provenance: doc as never };
          if (++read % 1000 === 0) ctx.progress((0.2 * read) / n, 'reading');
        }
      };
      ctx.progress(0, 'reading');
      await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, n) }, () => lane().catch((err: unknown) => {
        failed = true;
        throw err;
      })));
      const opts = {
        dryRun: p.dryRun,
        progress: (done: number, total: number) => ctx.progress(0.2 + (0.8 * done) / Math.max(total, 1), `${done}/${total} quanta`),
        checkCancelled: () => ctx.checkCancelled(),
        ownDatastore: r.datastoreName,
        storageClasses: r.storageClasses,
      };
      const { collectAndTransfer } = await import('../../repository/collect-and-transfer.js');
      // A dry run only reads; a real one waits for other registry writes of this process.
      return p.dryRun ? await collectAndTransfer(r.registry, items, opts) : await r.writes.run(() => collectAndTransfer(r.registry, items, opts));
    } finally {
      ctx.work.end();
    }
  });

  server.handle(P.RepositoryMigrateRegistry, async (p) => {
    // Not opened first: a registry whose schema version differs does not open.
    const root = resolvePath(p.root);
    // Nothing of this process may be using the old registry meanwhile.
    await server.repositories.release(root);
    const opts = server.options.registryUrl !== undefined ? { registryUrl: server.options.registryUrl } : {};
    const { migrateToPostgres, upgradeRegistry } = await import('../../repository/migrate-registry.js');
    return p.to ? migrateToPostgres(root, p.to, opts) : upgradeRegistry(root, opts);
  });

  server.handle(P.RepositoryLineage, async (p) => (await repo(p.root)).registry.lineage(normalizeDatasetId(p.datasetId), p.direction, p.depth));

  server.handle(P.RepositoryProvenance, async (p) => {
    const r = await repo(p.root);
    const { exportStoredProvenance } = await import('../../repository/export-formats.js');
    return exportStoredProvenance(r.registry, p.quantumId, p.format);
  });
}
