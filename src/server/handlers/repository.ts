/** repository/*: thin handlers over Repository, the registry and collect-and-transfer. */
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import * as P from '../../../protocol/repository.js';
import { wireRef } from '../../butler/provenance.js';
import { collectAndTransfer, collectAndTransferAsync, type CollectItem } from '../../repository/collect-and-transfer.js';
import { lineage } from '../../repository/lineage.js';
import { exportStoredProvenance } from '../../repository/export-formats.js';
import { makeQuantum } from '../../repository/make-quantum.js';
import { parseDatasetType } from '../../model/dataset-type.js';
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
function registeredRef(repo: Repository, input: DatasetRefInput): DatasetRef {
  const id = normalizeDatasetId(input.id);
  const ref = repo.resolveRef(id);
  if (!isMinimalRef(input)) {
    const given = parseDatasetRef(input, new Map([[ref.datasetType.name, ref.datasetType]]), repo.storageClasses);
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
  return (await loadDocumentWithText(doc, what)).value;
}

/** A document given inline or as an absolute path to a JSON file; `text` is the file's content when read from one. */
async function loadDocumentWithText(doc: unknown, what: string): Promise<{ value: unknown; text?: string }> {
  if (typeof doc !== 'string') return { value: doc };
  if (!isAbsolute(doc)) throw new InvalidArgument(`${what} paths must be absolute: ${JSON.stringify(doc)}`);
  let text: string;
  try {
    text = await readFile(doc, 'utf8');
  } catch (err) {
    throw new InvalidArgument(`Cannot read ${what} ${doc}: ${(err as Error).message}`);
  }
  try {
    return { value: JSON.parse(text) as unknown, text };
  } catch (err) {
    throw new InvalidArgument(`${what} ${doc} is not JSON: ${(err as Error).message}`);
  }
}

/** Documents read at once by repository/collectAndTransfer. */
const READ_CONCURRENCY = 32;

export function registerRepository(server: Server): void {
  const repo = (root: string) => server.repositories.open(root);
  const max = () => server.options.maxInlineBytes;

  server.handle(P.RepositoryCreate, (p) => {
    const r = server.repositories.create(p.root, p.config ?? {});
    return { root: r.root, datastoreName: r.datastoreName, config: r.config as unknown as Record<string, unknown> };
  });

  server.handle(P.RepositoryRegisterDatasetType, (p) => {
    const r = repo(p.root);
    const dt = parseDatasetType(p.datasetType);
    return r.writes.run(() => {
      const before = r.registry.getDatasetType(dt.name);
      r.registerDatasetType(dt);
      return { registered: before === undefined };
    });
  });

  server.handle(P.RepositoryPut, async (p, ctx) => {
    ctx.work.begin('Storing dataset in repository');
    try {
      const decoded = await decodePutPayload(p.payload, max());
      ctx.checkCancelled();
      const r = repo(p.root);
      const { ref, info, sha256 } = await r.writes.run(() => r.put(p.datasetType, parseDataId(p.dataId), p.run, decoded.source, p.idGenerationMode));
      await decoded.afterPut();
      return { ref: wireRef(ref), size: info.file_size, sha256 };
    } finally {
      ctx.work.end();
    }
  });

  server.handle(P.RepositoryGet, async (p, ctx) => {
    const r = repo(p.root);
    const ref = registeredRef(r, p.ref);
    const { value, storageClass } = await r.get(ref, { parameters: p.parameters, storageClass: p.storageClass, component: p.component ?? p.ref.component ?? undefined });
    ctx.checkCancelled();
    const { payload, size } = await encodeReadValue(value, storageClass, r.storageClasses, p.as, p.destination, max());
    return { ref: wireRef(ref), storageClass, payload, size };
  });

  server.handle(P.RepositoryQueryDatasets, (p) => ({
    refs: repo(p.root)
      .registry.queryDatasets({ datasetType: p.datasetType, run: p.run, dataId: p.dataId })
      .map(wireRef),
  }));

  server.handle(P.RepositoryExportRecords, (p) => {
    const r = repo(p.root);
    const ids = p.refs.map((x) => registeredRef(r, x).id);
    return { records: { [r.datastoreName]: serializeDatastoreRecordData(r.exportRecords(ids)) } };
  });

  server.handle(P.RepositoryMakeQuantum, (p) => {
    const r = repo(p.root);
    const resolve = (x: DatasetRefInput): DatasetRef =>
      isMinimalRef(x) ? registeredRef(r, x) : parseDatasetRef(x, new Map(r.registry.datasetTypes().map((d) => [d.name, d])), r.storageClasses);
    const made = makeQuantum(r, {
      taskName: p.taskName,
      dataId: p.dataId ? parseDataId(p.dataId) : null,
      inputs: p.inputs.map(resolve),
      initInputs: p.initInputs.map(resolve),
      outputs: p.outputs.map((o) => ({ datasetType: o.datasetType, dataId: parseDataId(o.dataId), run: o.run, mode: o.idGenerationMode })),
      includeRecords: p.includeRecords,
    });
    return { quantum: made.quantum as unknown as Record<string, unknown>, outputs: made.outputs.map(wireRef) };
  });

  server.handle(P.RepositoryCollectAndTransfer, async (p, ctx) => {
    if (p.quanta.length !== p.provenance.length) {
      throw new InvalidArgument(`quanta (${p.quanta.length}) and provenance (${p.provenance.length}) must have the same length.`);
    }
    const r = repo(p.root);
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
          const [q, prov] = await Promise.all([loadDocument(p.quanta[i], 'quantum'), loadDocumentWithText(p.provenance[i], 'provenance')]);
          // A document read from a file is stored as its text, not serialised again.
          items[i] = { quantum: parseQuantum(q, r.storageClasses), provenance: prov.value as never, ...(prov.text !== undefined ? { provenanceText: prov.text } : {}) };
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
        storageClasses: r.storageClasses,
      };
      // A dry run only reads; a real one waits for other registry writes of this process.
      return p.dryRun ? collectAndTransfer(r.registry, items, opts) : await r.writes.run(() => collectAndTransferAsync(r.registry, items, opts));
    } finally {
      ctx.work.end();
    }
  });

  server.handle(P.RepositoryLineage, (p) => lineage(repo(p.root).registry, normalizeDatasetId(p.datasetId), p.direction, p.depth));

  server.handle(P.RepositoryProvenance, (p) => exportStoredProvenance(repo(p.root).registry, p.quantumId, p.format));
}
