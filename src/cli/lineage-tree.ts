/**
 * A lineage graph as a text tree rooted at its dataset: looking up, each dataset's producing
 * quantum and that quantum's inputs; looking down, each dataset's consuming quanta and their
 * outputs. A quantum met twice is shown once (later: "shown above").
 */
import type { Lineage } from '../repository/lineage.js';
import { dataIdWords } from './table.js';

export interface TreeStyle {
  dataset(s: string): string;
  quantum(s: string): string;
  dim(s: string): string;
}

export const PLAIN: TreeStyle = { dataset: (s) => s, quantum: (s) => s, dim: (s) => s };

export function lineageTree(lin: Lineage, style: TreeStyle = PLAIN): string {
  const datasets = new Map(lin.datasets.map((d) => [d.id, d]));
  const quanta = new Map(lin.quanta.map((q) => [q.id, q]));
  // up: dataset → its producer → the producer's inputs; down: dataset → consumers → their outputs.
  const fromDataset = new Map<string, string[]>();
  const fromQuantum = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, k: string, v: string) => (m.get(k) ?? m.set(k, []).get(k)!).push(v);
  for (const e of lin.edges) {
    if (lin.direction === 'up') {
      if (e.kind === 'output') add(fromDataset, e.to, e.from);
      else add(fromQuantum, e.to, e.from);
    } else if (e.kind === 'input') add(fromDataset, e.from, e.to);
    else add(fromQuantum, e.from, e.to);
  }
  const lines: string[] = [];
  const dsText = (id: string) => {
    const d = datasets.get(id);
    return [style.dataset(d?.datasetType ?? '?'), dataIdWords(d?.dataId), style.dim(`${d?.run ?? ''} ${id}`)].filter(Boolean).join(' ');
  };
  // Children in a stable order: datasets by type, data ID and id; quanta by task and id.
  const dsKey = (id: string) => `${datasets.get(id)?.datasetType ?? ''}\u0000${dataIdWords(datasets.get(id)?.dataId)}\u0000${id}`;
  const qKey = (id: string) => `${quanta.get(id)?.taskName ?? ''}\u0000${id}`;
  for (const list of fromDataset.values()) list.sort((a, b) => qKey(a).localeCompare(qKey(b), undefined, { numeric: true }));
  for (const list of fromQuantum.values()) list.sort((a, b) => dsKey(a).localeCompare(dsKey(b), undefined, { numeric: true }));
  const shown = new Set<string>();
  const walkDataset = (id: string, prefix: string, branch: string) => {
    lines.push(`${prefix}${branch}${dsText(id)}`);
    const childPrefix = prefix + (branch === '' ? '' : branch === '└─ ' ? '   ' : '│  ');
    const qs = fromDataset.get(id) ?? [];
    qs.forEach((q, k) => {
      const last = k === qs.length - 1;
      const seen = shown.has(q);
      shown.add(q);
      const info = quanta.get(q);
      const text = [style.quantum(info?.taskName ?? 'quantum'), dataIdWords(info?.dataId), style.dim(q)].filter(Boolean).join(' ');
      lines.push(`${childPrefix}${last ? '└─ ' : '├─ '}${text}${seen ? style.dim(' (shown above)') : ''}`);
      if (seen) return;
      const ds = fromQuantum.get(q) ?? [];
      const qPrefix = childPrefix + (last ? '   ' : '│  ');
      ds.forEach((d, j) => walkDataset(d, qPrefix, j === ds.length - 1 ? '└─ ' : '├─ '));
    });
  };
  walkDataset(lin.root, '', '');
  if (lin.truncated) lines.push(style.dim(`(cut at depth ${lin.depth}: the graph goes further)`));
  return lines.join('\n') + '\n';
}
