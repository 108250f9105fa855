/**
 * Lineage: walk the stored input → output graph from one dataset.
 *
 * - `up`: the quantum that wrote the dataset (an actual-output edge), that quantum's
 *   actual inputs, the quanta that wrote those, and so on.
 * - `down`: the quanta that actually used the dataset, their actual outputs, the quanta
 *   that used those, and so on.
 *
 * `depth` counts quantum hops (depth 1: the producing/consuming quanta and their
 * inputs/outputs only); omitted means unlimited. Each backend walks the graph its own way
 * (SQLite: `walkLineage` below, breadth-first with one batched, indexed query per hop and
 * direction; PostgreSQL: one recursive query, as a round trip per hop would cost more than
 * the walk) and shapes the result with `shapeLineage`; visited sets (or a hop limit) make
 * the walk terminate even on a (corrupt) cyclic graph.
 *
 * Edges point along the data flow: `input` edges go dataset → quantum, `output` edges go
 * quantum → dataset. Only actual inputs/outputs are followed: an input that was available
 * but not used did not influence the result.
 */
import type { DataId } from '../model/data-coordinate.js';
import { normalizeDatasetId } from '../model/dataset-id.js';
import { DatasetNotFound, InvalidArgument } from '../model/errors.js';

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

/** The checked arguments of a lineage call. */
export function lineageArgs(datasetId: string, direction: unknown, depth: unknown): { root: string; direction: LineageDirection; depth: number | undefined } {
  const root = normalizeDatasetId(datasetId);
  if (direction !== 'up' && direction !== 'down') throw new InvalidArgument(`Lineage direction must be 'up' or 'down', got ${JSON.stringify(direction)}.`);
  if (depth !== undefined && !(typeof depth === 'number' && Number.isSafeInteger(depth) && depth >= 0)) {
    throw new InvalidArgument(`Lineage depth must be a non-negative integer, got ${JSON.stringify(depth)}.`, { details: { depth } });
  }
  return { root, direction, depth: depth as number | undefined };
}

/** A quantum → dataset link: a quantum and one of its actual inputs or outputs. */
export interface LineageLink {
  q: string;
  d: string;
}

/** The synchronous link queries the breadth-first walk needs (only actual edges). */
export interface LineageLinks {
  /** Quanta that wrote these datasets. */
  producers(datasetIds: readonly string[]): LineageLink[];
  /** Quanta that used these datasets. */
  consumers(datasetIds: readonly string[]): LineageLink[];
  /** The inputs these quanta used. */
  actualInputsOf(quantumIds: readonly string[]): LineageLink[];
  /** The outputs these quanta wrote. */
  actualOutputsOf(quantumIds: readonly string[]): LineageLink[];
}

/** The walked graph, before it is described. */
export interface LineageWalk {
  datasets: Set<string>;
  quanta: Set<string>;
  edges: Map<string, LineageEdge>;
  hops: number;
  truncated: boolean;
}

/** Walk breadth-first from `root`, one batched query per hop and direction. */
export function walkLineage(links: LineageLinks, root: string, direction: LineageDirection, depth: number | undefined): LineageWalk {
  const datasets = new Set<string>([root]);
  const quanta = new Set<string>();
  const edges = new Map<string, LineageEdge>();
  const addEdge = (from: string, to: string, kind: 'input' | 'output'): void => {
    const k = `${from}>${to}`;
    if (!edges.has(k)) edges.set(k, { from, to, kind });
  };
  // up: dataset → producing quantum → its inputs; down: dataset → consuming quantum → its outputs.
  const toQuanta = direction === 'up' ? (ids: string[]) => links.producers(ids) : (ids: string[]) => links.consumers(ids);
  const toDatasets = direction === 'up' ? (ids: string[]) => links.actualInputsOf(ids) : (ids: string[]) => links.actualOutputsOf(ids);

  let frontier = [root];
  let hops = 0;
  let truncated = false;
  while (frontier.length > 0) {
    const found = toQuanta(frontier);
    if (found.length === 0) break;
    if (depth !== undefined && hops >= depth) {
      truncated = true;
      break;
    }
    const fresh: string[] = [];
    for (const { q, d } of found) {
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
    for (const { q, d } of toDatasets(fresh)) {
      if (direction === 'up') addEdge(d, q, 'input');
      else addEdge(q, d, 'output');
      if (!datasets.has(d)) {
        datasets.add(d);
        next.push(d);
      }
    }
    frontier = next;
  }
  return { datasets, quanta, edges, hops, truncated };
}

/** What the registry says about the walked ids (registered datasets; predicted refs of the others; quanta). */
export interface LineageDescriptions {
  datasets: Array<{ id: string; dataset_type: string; run: string; data_id: string }>;
  /** Predicted refs of unregistered datasets, in (dataset id, quantum id) order: the first per id is used. */
  predicted: Array<{ dataset_id: string; dataset_type: string; run: string | null; data_id: string | null }>;
  quanta: Array<{ id: string; task_name: string | null; data_id: string | null }>;
}

/** The result of a walk; DatasetNotFound when the root is neither registered nor any quantum's input or output. */
export function shapeLineage(
  root: string,
  direction: LineageDirection,
  depth: number | undefined,
  walk: Pick<LineageWalk, 'hops' | 'truncated'> & { edges: Iterable<LineageEdge> },
  found: LineageDescriptions,
): Lineage {
  const info = new Map<string, LineageDataset>();
  for (const r of found.datasets) info.set(r.id, { id: r.id, datasetType: r.dataset_type, run: r.run, dataId: JSON.parse(r.data_id) as DataId, registered: true });
  for (const r of found.predicted) {
    if (info.has(r.dataset_id)) continue;
    info.set(r.dataset_id, {
      id: r.dataset_id,
      datasetType: r.dataset_type,
      run: r.run ?? '',
      dataId: r.data_id === null ? null : (JSON.parse(r.data_id) as DataId),
      registered: false,
    });
  }
  if (!info.has(root)) throw new DatasetNotFound(`Dataset ${root} is not in the registry and no stored quantum uses or wrote it.`, { datasetId: root });
  const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return {
    root,
    direction,
    depth: depth ?? null,
    hops: walk.hops,
    truncated: walk.truncated,
    quanta: [...found.quanta]
      .sort((a, b) => byKey(a.id, b.id))
      .map((r) => ({ id: r.id, taskName: r.task_name, dataId: r.data_id === null ? null : (JSON.parse(r.data_id) as DataId) })),
    datasets: [...info.values()].sort((a, b) => byKey(a.id, b.id)),
    edges: [...walk.edges].sort((a, b) => (a.from !== b.from ? byKey(a.from, b.from) : byKey(a.to, b.to))),
  };
}
