/**
 * The SHA-256 a registry holds for datasets through the quanta that wrote them: the producing
 * quantum's native provenance document records each written output's `sha256`. A provenance
 * export takes it for an input whose record carries no checksum (a repository's default, as
 * daf_butler's), so that input is still identified by its content. Inputs with no producing
 * quantum in the registry (seeded by repository/put, ingested) or whose producer was collected
 * with a daf_butler document (no digests) get none.
 */
import { normalizeDatasetId, type DatasetId } from '../model/dataset-id.js';
import type { Registry } from './registry.js';

interface OutputEntry {
  ref?: { id?: unknown };
  written?: unknown;
  pruned?: unknown;
  sha256?: unknown;
}

/**
 * SHA-256 (hex) by dataset id (as given), of those of `ids` whose producing quantum recorded
 * one. Two batch reads whatever the number of ids: their producers, then those producers'
 * documents (each read once, however many of `ids` it wrote).
 */
export async function producerDigests(registry: Registry, ids: Iterable<DatasetId>): Promise<Map<DatasetId, string>> {
  const out = new Map<DatasetId, string>();
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return out;
  const producers = await registry.producersOf(wanted);
  if (producers.size === 0) return out;
  const documents = await registry.quantumProvenances(new Set(producers.values()));
  const digests = new Map<string, Map<DatasetId, string>>();
  for (const id of wanted) {
    const key = normalizeDatasetId(id);
    const producer = producers.get(key);
    if (producer === undefined) continue;
    let written = digests.get(producer);
    if (!written) digests.set(producer, (written = writtenDigests(documents.get(producer))));
    const sha256 = written.get(key);
    if (sha256 !== undefined) out.set(id, sha256);
  }
  return out;
}

/** The `sha256` of each output a stored quantum's native document says it wrote (and did not prune); none from a daf_butler document. */
function writtenDigests(document: unknown): Map<DatasetId, string> {
  const doc = document as { outputs?: unknown } | undefined;
  const out = new Map<DatasetId, string>();
  if (!doc || !Array.isArray(doc.outputs)) return out;
  for (const o of doc.outputs as OutputEntry[]) {
    if (o.written !== true || o.pruned === true || typeof o.sha256 !== 'string' || typeof o.ref?.id !== 'string') continue;
    out.set(normalizeDatasetId(o.ref.id), o.sha256);
  }
  return out;
}
