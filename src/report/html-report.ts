/**
 * A self-contained HTML provenance report: the graph of quanta and datasets as
 * inline SVG (layered left to right), and a table per quantum of what was predicted,
 * available, used and written. No scripts, no external assets.
 */
import type { NativeProvenance } from '../../protocol/provenance.js';

interface Node {
  id: string;
  label: string;
  sub: string;
  kind: 'dataset' | 'quantum';
  state?: 'used' | 'unused' | 'written' | 'missing';
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const dataIdText = (d: Record<string, unknown> | null | undefined) =>
  d ? Object.entries(d).map(([k, v]) => `${k}=${v}`).join(', ') : '';

/** Assign each node a layer: datasets feed quanta feed datasets, left to right. */
function layout(docs: NativeProvenance[]) {
  const nodes = new Map<string, Node>();
  const edges: Array<{ from: string; to: string; dashed: boolean }> = [];
  const layer = new Map<string, number>();
  for (const doc of docs) {
    const q = doc.quantum.id;
    nodes.set(q, { id: q, label: doc.quantum.taskName ?? 'quantum', sub: dataIdText(doc.quantum.dataId), kind: 'quantum' });
    const actual = new Set(doc.actualInputs);
    let inLayer = 0;
    for (const i of doc.inputs) {
      const used = actual.has(i.ref.id);
      if (!nodes.has(i.ref.id)) {
        nodes.set(i.ref.id, { id: i.ref.id, label: i.ref.datasetType, sub: dataIdText(i.ref.dataId), kind: 'dataset', state: used ? 'used' : i.checked === 'missing' ? 'missing' : 'unused' });
      }
      inLayer = Math.max(inLayer, layer.get(i.ref.id) ?? 0);
      edges.push({ from: i.ref.id, to: q, dashed: !used });
    }
    layer.set(q, inLayer + 1);
    for (const o of doc.outputs) {
      nodes.set(o.ref.id, { id: o.ref.id, label: o.ref.datasetType, sub: dataIdText(o.ref.dataId), kind: 'dataset', state: o.written ? 'written' : 'missing' });
      layer.set(o.ref.id, inLayer + 2);
      if (o.written) edges.push({ from: q, to: o.ref.id, dashed: false });
    }
  }
  for (const id of nodes.keys()) if (!layer.has(id)) layer.set(id, 0);
  return { nodes, edges, layer };
}

function svg(docs: NativeProvenance[]): string {
  const { nodes, edges, layer } = layout(docs);
  const W = 190;
  const H = 46;
  const GX = 70;
  const GY = 16;
  const columns = new Map<number, Node[]>();
  for (const n of nodes.values()) {
    const l = layer.get(n.id)!;
    if (!columns.has(l)) columns.set(l, []);
    columns.get(l)!.push(n);
  }
  const pos = new Map<string, { x: number; y: number }>();
  let height = 0;
  for (const [l, ns] of [...columns].sort(([a], [b]) => a - b)) {
    ns.sort((a, b) => (a.label + a.sub).localeCompare(b.label + b.sub));
    ns.forEach((n, i) => pos.set(n.id, { x: 20 + l * (W + GX), y: 20 + i * (H + GY) }));
    height = Math.max(height, 40 + ns.length * (H + GY));
  }
  const width = 40 + (Math.max(...columns.keys()) + 1) * (W + GX);
  const parts: string[] = [];
  for (const e of edges) {
    const a = pos.get(e.from)!;
    const b = pos.get(e.to)!;
    const x1 = a.x + W;
    const y1 = a.y + H / 2;
    const x2 = b.x;
    const y2 = b.y + H / 2;
    const mid = (x1 + x2) / 2;
    parts.push(
      `<path d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}" class="edge${e.dashed ? ' dashed' : ''}" marker-end="url(#arrow)"/>`,
    );
  }
  for (const n of nodes.values()) {
    const p = pos.get(n.id)!;
    const cls = n.kind === 'quantum' ? 'quantum' : `dataset ${n.state ?? ''}`;
    parts.push(
      `<g class="${cls}"><title>${esc(n.id)}</title><rect x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="${n.kind === 'quantum' ? 4 : 14}"/>` +
        `<text x="${p.x + 10}" y="${p.y + 19}" class="label">${esc(n.label.slice(0, 26))}</text>` +
        `<text x="${p.x + 10}" y="${p.y + 36}" class="sub">${esc(n.sub.slice(0, 30))}</text></g>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#667"/></marker></defs>
${parts.join('\n')}
</svg>`;
}

function quantumTable(doc: NativeProvenance): string {
  const rows = doc.inputs
    .map(
      (i) =>
        `<tr><td>${esc(i.ref.datasetType)}</td><td>${esc(dataIdText(i.ref.dataId))}</td><td>${esc(i.state)}</td><td>${i.loads}</td><td>${esc(i.unusedReason ?? '')}</td><td class="id">${esc(i.ref.id)}</td></tr>`,
    )
    .join('');
  const outs = doc.outputs
    .map(
      (o) =>
        `<tr><td>${esc(o.ref.datasetType)}</td><td>${esc(dataIdText(o.ref.dataId))}</td><td>${o.written ? 'written' : o.pruned ? 'pruned' : 'not written'}</td><td>${o.size ?? ''}</td><td class="id">${esc(o.sha256 ?? '')}</td></tr>`,
    )
    .join('');
  const diags = doc.diagnostics.map((d) => `<li><b>${esc(d.code)}</b>: ${esc(d.message)} (${d.datasetIds.length})</li>`).join('');
  return `<section><h2>${esc(doc.quantum.taskName ?? 'quantum')} <span class="id">${esc(doc.quantum.id)}</span></h2>
<p>${esc(doc.execution.startedAt)} → ${esc(doc.execution.endedAt)} on ${esc(doc.execution.host)} (pid ${doc.execution.pid}, ${esc(doc.execution.sidecar.name)} ${esc(doc.execution.sidecar.version)});
${doc.predictedInputs.length} predicted inputs, ${doc.availableInputs.length} available, ${doc.actualInputs.length} used; ${doc.actualOutputs.length}/${doc.predictedOutputs.length} outputs written.</p>
${diags ? `<ul class="diag">${diags}</ul>` : ''}
<table><thead><tr><th>input</th><th>data ID</th><th>state</th><th>loads</th><th>unused because</th><th>id</th></tr></thead><tbody>${rows}</tbody></table>
<table><thead><tr><th>output</th><th>data ID</th><th>state</th><th>bytes</th><th>sha256</th></tr></thead><tbody>${outs}</tbody></table></section>`;
}

export function renderProvenanceReport(title: string, docs: NativeProvenance[]): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#223}
h1{font-size:20px} h2{font-size:16px;margin-top:28px} .id{font:11px monospace;color:#667}
table{border-collapse:collapse;margin:8px 0 16px} td,th{border:1px solid #ccd;padding:3px 8px;text-align:left}
.edge{fill:none;stroke:#667;stroke-width:1.4} .edge.dashed{stroke-dasharray:5 4;stroke:#aab}
.quantum rect{fill:#fde8c8;stroke:#c80} .dataset rect{fill:#e3eefc;stroke:#48c}
.dataset.unused rect{fill:#f2f2f2;stroke:#999} .dataset.missing rect{fill:#fde0e0;stroke:#c44} .dataset.written rect{fill:#e2f5e2;stroke:#4a4}
.label{font-weight:600;font-size:12px} .sub{font-size:11px;fill:#556} .legend span{display:inline-block;padding:1px 8px;margin-right:6px;border-radius:8px}
.diag{color:#a50}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="legend"><span style="background:#e3eefc">input used</span><span style="background:#f2f2f2">available, not used (dashed)</span><span style="background:#e2f5e2">output written</span><span style="background:#fde8c8">quantum</span></p>
${svg(docs)}
${docs.map(quantumTable).join('\n')}
</body></html>
`;
}
