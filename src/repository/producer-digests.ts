/**
 * The SHA-256 a registry holds for datasets through the quanta that wrote them: the producing
 * quantum's native provenance document records each written output's `sha256`. A provenance
 * export takes it for an input whose record carries no checksum (a repository's default, as
 * daf_butler's), so that input is still identified by its content. Inputs with no producing
 * quantum in the registry (seeded by repository/put, ingested) or whose producer was collected
 * with a daf_butler document (no digests) get none.
 */
import { normalizeDatasetId, type DatasetId } from '../model/dataset-id.js';
import { DatasetNotFound } from '../model/errors.js';
import type { Registry } from './registry.js';

interface OutputEntry {
  ref?: { id?: unknown };
  written?: unknown;
  pruned?: unknown;
  sha256?: unknown;
}

/** SHA-256 (hex) by dataset id, of those of `ids` whose producing quantum recorded one. */
export async function producerDigests(registry: Registry, ids: Iterable<DatasetId>): Promise<Map<DatasetId, string>> {
  const out = new Map<DatasetId, string>();
  // One document per producer, however many of `ids` it wrote.
  const documents = new Map<string, Promise<Map<DatasetId, string>>>();
  for (const id of new Set(ids)) {
    const producer = await producerOf(registry, id);
    if (producer === undefined) continue;
    let digests = documents.get(producer);
    if (!digests) documents.set(producer, (digests = writtenDigests(registry, producer)));
    const sha256 = (await digests).get(normalizeDatasetId(id));
    if (sha256 !== undefined) out.set(id, sha256);
  }
  return out;
}

/** The quantum that wrote `id` (its actual-output edge), if the registry knows one. */
async function producerOf(registry: Registry, id: DatasetId): Promise<string | undefined> {
  try {
    const lineage = await registry.lineage(id, 'up', 1);
    return lineage.edges.find((e) => e.kind === 'output' && e.to === lineage.root)?.from;
  } catch (err) {
    if (err instanceof DatasetNotFound) return undefined;
    throw err;
  }
}

/** The `sha256` of each output a stored quantum's native document says it wrote (and did not prune). */
async function writtenDigests(registry: Registry, quantumId: string): Promise<Map<DatasetId, string>> {
  const doc = (await registry.quantumProvenance(quantumId)) as { outputs?: unknown } | undefined;
  const out = new Map<DatasetId, string>();
  if (!doc || !Array.isArray(doc.outputs)) return out;
  for (const o of doc.outputs as OutputEntry[]) {
    if (o.written !== true || o.pruned === true || typeof o.sha256 !== 'string' || typeof o.ref?.id !== 'string') continue;
    out.set(normalizeDatasetId(o.ref.id), o.sha256);
  }
  return out;
}
