/**
 * Lineage: walk the stored input → output graph from one dataset.
 *
 * - `up`: the quantum that wrote the dataset (an actual-output edge), that quantum's
 *   actual inputs, the quanta that wrote those, and so on.
 * - `down`: the quanta that actually used the dataset, their actual outputs, the quanta
 *   that used those, and so on.
 *
 * `depth` counts quantum hops (depth 1: the producing/consuming quanta and their
 * inputs/outputs only); omitted means unlimited. The walk is breadth-first with one
 * batched, indexed query per hop and direction (`IN (SELECT value FROM json_each(?))`),
 * and visited sets make it terminate even on a (corrupt) cyclic graph.
 *
 * Edges point along the data flow: `input` edges go dataset → quantum, `output` edges go
 * quantum → dataset. Only actual inputs/outputs are followed: an input that was available
 * but not used did not influence the result.
 */
import type { DataId } from '../model/data-coordinate.js';
import { normalizeDatasetId } from '../model/dataset-id.js';
import { DatasetNotFound, InvalidArgument } from '../model/errors.js';
import type { Registry } from './registry.js';

export type LineageDirection = 'up' | 'down';

export interface LineageQuantum {
  id: string;
  taskName: string | null;
  dataId: DataId | null;
}

export interface LineageDataset {
  id: string;
  datasetType: string;
  run: string;
  dataId: DataId | null;
  /** False for inputs the registry does not hold (described from the quantum's predicted ref). */
  registered: boolean;
}

export interface LineageEdge {
  from: string;
  to: string;
  kind: 'input' | 'output';
}

export interface Lineage {
  root: string;
  direction: LineageDirection;
  /** The depth limit asked for (null: unlimited). */
  depth: number | null;
  /** Quantum hops actually walked. */
  hops: number;
  /** True when the depth limit stopped the walk although the graph goes further. */
  truncated: boolean;
  quanta: LineageQuantum[];
  datasets: LineageDataset[];
  edges: LineageEdge[];
}

const IN_IDS = 'IN (SELECT value FROM json_each(?))';

/** The lineage graph of `datasetId`; DatasetNotFound if the registry has never heard of it. */
export function lineage(registry: Registry, datasetId: string, direction: LineageDirection, depth?: number): Lineage {
  const root = normalizeDatasetId(datasetId);
  if (direction !== 'up' && direction !== 'down') throw new InvalidArgument(`Lineage direction must be 'up' or 'down', got ${JSON.stringify(direction)}.`);
  if (depth !== undefined && !(Number.isSafeInteger(depth) && depth >= 0)) {
    throw new InvalidArgument(`Lineage depth must be a non-negative integer, got ${JSON.stringify(depth)}.`, { details: { depth } });
  }
  const db = registry.database;
  const producers = db.prepare(`SELECT quantum_id AS q, dataset_id AS d FROM quantum_outputs WHERE dataset_id ${IN_IDS} AND actual = 1`);
  const consumers = db.prepare(`SELECT quantum_id AS q, dataset_id AS d FROM quantum_inputs WHERE dataset_id ${IN_IDS} AND actual = 1`);
  const usedBy = db.prepare(`SELECT quantum_id AS q, dataset_id AS d FROM quantum_inputs WHERE quantum_id ${IN_IDS} AND actual = 1`);
  const wrote = db.prepare(`SELECT quantum_id AS q, dataset_id AS d FROM quantum_outputs WHERE quantum_id ${IN_IDS} AND actual = 1`);

  return registry.readTransaction(() => {
    const datasets = new Set<string>([root]);
    const quanta = new Set<string>();
    const edges = new Map<string, LineageEdge>();
    const addEdge = (from: string, to: string, kind: 'input' | 'output'): void => {
      const k = `${from}>${to}`;
      if (!edges.has(k)) edges.set(k, { from, to, kind });
    };
    type Pair = { q: string; d: string };
    // up: dataset → producing quantum → its inputs; down: dataset → consuming quantum → its outputs.
    const toQuanta = direction === 'up' ? producers : consumers;
    const toDatasets = direction === 'up' ? usedBy : wrote;

    let frontier = [root];
    let hops = 0;
    let truncated = false;
    while (frontier.length > 0) {
      const links = toQuanta.all(JSON.stringify(frontier)) as Pair[];
      if (links.length === 0) break;
      if (depth !== undefined && hops >= depth) {
        truncated = true;
        break;
      }
      const fresh: string[] = [];
      for (const { q, d } of links) {
        if (direction === 'up') addEdge(q, d, 'output');
        else addEdge(d, q, 'input');
        if (!quanta.has(q)) {
          quanta.add(q);
          fresh.push(q);
        }
      }
      hops++;
      if (fresh.length === 0) break;
      const next: string[] = [];
      for (const { q, d } of toDatasets.all(JSON.stringify(fresh)) as Pair[]) {
        if (direction === 'up') addEdge(d, q, 'input');
        else addEdge(q, d, 'output');
        if (!datasets.has(d)) {
          datasets.add(d);
          next.push(d);
        }
      }
      frontier = next;
    }

    const datasetInfo = describeDatasets(registry, [...datasets]);
    if (!datasetInfo.has(root)) {
      throw new DatasetNotFound(`Dataset ${root} is not in the registry and no stored quantum uses or wrote it.`, { datasetId: root });
    }
    const quantumRows = db
      .prepare(`SELECT id, task_name, data_id FROM quanta WHERE id ${IN_IDS} ORDER BY id`)
      .all(JSON.stringify([...quanta])) as Array<{ id: string; task_name: string | null; data_id: string | null }>;
    return {
      root,
      direction,
      depth: depth ?? null,
      hops,
      truncated,
      quanta: quantumRows.map((r) => ({ id: r.id, taskName: r.task_name, dataId: r.data_id === null ? null : (JSON.parse(r.data_id) as DataId) })),
      datasets: [...datasetInfo.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      edges: [...edges.values()].sort((a, b) => (a.from !== b.from ? (a.from < b.from ? -1 : 1) : a.to < b.to ? -1 : a.to > b.to ? 1 : 0)),
    };
  });
}

/**
 * Describe datasets: from the registry when registered, else from a stored quantum's
 * predicted input ref. Ids known to neither are left out.
 */
function describeDatasets(registry: Registry, ids: string[]): Map<string, LineageDataset> {
  const db = registry.database;
  const out = new Map<string, LineageDataset>();
  const list = JSON.stringify(ids);
  const rows = db.prepare(`SELECT id, dataset_type, run, data_id FROM datasets WHERE id ${IN_IDS}`).all(list) as Array<{
    id: string;
    dataset_type: string;
    run: string;
    data_id: string;
  }>;
  for (const r of rows) out.set(r.id, { id: r.id, datasetType: r.dataset_type, run: r.run, dataId: JSON.parse(r.data_id) as DataId, registered: true });
  const missing = ids.filter((id) => !out.has(id));
  if (missing.length > 0) {
    const refs = db
      .prepare(
        `SELECT dataset_id, dataset_type, run, data_id FROM quantum_inputs WHERE dataset_id ${IN_IDS} AND dataset_type IS NOT NULL ORDER BY dataset_id, quantum_id`,
      )
      .all(JSON.stringify(missing)) as Array<{ dataset_id: string; dataset_type: string; run: string | null; data_id: string | null }>;
    for (const r of refs) {
      if (out.has(r.dataset_id)) continue;
      out.set(r.dataset_id, {
        id: r.dataset_id,
        datasetType: r.dataset_type,
        run: r.run ?? '',
        dataId: r.data_id === null ? null : (JSON.parse(r.data_id) as DataId),
        registered: false,
      });
    }
  }
  return out;
}
