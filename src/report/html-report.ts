/**
 * The provenance report: one self-contained HTML file (no scripts, no external requests)
 * for any set of native provenance documents, a demo's two or a repository's hundreds.
 *
 * - An overview graph of tasks and dataset types, edges labelled "used" / "generated" with
 *   counts, stays small however many quanta there are.
 * - Quanta are grouped by task in collapsible sections (<details>), each a table ordered by
 *   start time: agent (task, host, pid), duration, inputs used, outputs written, and a link to
 *   the quantum's JSON document. Each quantum expands to its own graph (inputs → quantum →
 *   outputs, every edge labelled) and its input and output tables.
 * - Graph text is cut to its box (text-fit.ts) with the full text in a tooltip; table cells
 *   are cut by CSS with the full text in a title. Every colour has a legend entry, and the
 *   legend lists only colours the page uses.
 */
import type { NativeProvenance } from '../../protocol/provenance.js';
import { escapeHtml as esc } from './escape.js';
import { GRAPH_DEFS, renderGraph, type GraphEdge, type GraphNode } from './svg-graph.js';
import { MONO_FONT_FAMILY } from './text-fit.js';
import { durationBetween, formatDuration } from './duration.js';

/** A document to report on, with where its JSON lives (default: embedded in the page as a data: link). */
export interface ReportDocument {
  provenance: NativeProvenance;
  href?: string;
}

export interface ReportOptions {
  /** A line under the title (e.g. where the documents came from). */
  subtitle?: string;
  /** Task sections start open up to this many quanta in the whole report (default 12). */
  openUpTo?: number;
}

/** Node colour classes: [class, legend text, fill, stroke]. Order is the legend's. */
export const REPORT_COLOURS = [
  ['task', 'quantum / task (agent: task on host)', '#fde8c8', '#c80'],
  ['dtype', 'dataset type', '#ece6fb', '#75c'],
  ['used', 'input used', '#e3eefc', '#48c'],
  ['unused', 'input available, not used', '#f2f2f2', '#999'],
  ['missing', 'input missing', '#fde0e0', '#c44'],
  ['unchecked', 'input never checked or loaded', '#fafafa', '#bbb'],
  ['written', 'output written', '#e2f5e2', '#4a4'],
  ['notwritten', 'output not written', '#fff1c2', '#c90'],
] as const;

type Colour = (typeof REPORT_COLOURS)[number][0];
type Input = NativeProvenance['inputs'][number];
type Output = NativeProvenance['outputs'][number];

const UNTITLED_TASK = '(no task name)';

export const dataIdText = (d: Record<string, unknown> | null | undefined): string =>
  d ? Object.entries(d).map(([k, v]) => `${k}=${String(v)}`).join(', ') : '';

const taskOf = (p: NativeProvenance) => p.quantum.taskName ?? UNTITLED_TASK;

/** Milliseconds a quantum ran, or null when its times do not parse. */
const durationMs = (p: NativeProvenance): number | null => durationBetween(p.execution.startedAt, p.execution.endedAt);

function inputColour(p: NativeProvenance, i: Input): Colour {
  if (p.actualInputs.includes(i.ref.id)) return 'used';
  if (i.state === 'missing' || i.checked === 'missing') return 'missing';
  if (i.state === 'available' || i.state === 'unused' || i.checked === 'available') return 'unused';
  return 'unchecked';
}

const inputEdgeLabel: Record<Colour, string> = {
  used: 'used',
  unused: 'not used',
  missing: 'missing',
  unchecked: 'not checked',
  task: '',
  dtype: '',
  written: '',
  notwritten: '',
};

const byRef = (a: { ref: { datasetType: string; dataId: Record<string, unknown>; id: string } }, b: typeof a) =>
  a.ref.datasetType.localeCompare(b.ref.datasetType) || dataIdText(a.ref.dataId).localeCompare(dataIdText(b.ref.dataId), undefined, { numeric: true }) || a.ref.id.localeCompare(b.ref.id);

const byStart = (a: ReportDocument, b: ReportDocument) =>
  a.provenance.execution.startedAt.localeCompare(b.provenance.execution.startedAt) || a.provenance.quantum.id.localeCompare(b.provenance.quantum.id);

function documentHref(d: ReportDocument): string {
  return d.href ?? `data:application/json;charset=utf-8,${encodeURIComponent(JSON.stringify(d.provenance, null, 2))}`;
}

const anchor = (p: NativeProvenance) => `q-${p.quantum.id}`;

/** One quantum's graph: its inputs, itself (task on host), its outputs; every edge labelled. */
function quantumGraph(p: NativeProvenance, used: Set<Colour>): string {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const q = p.quantum.id;
  const agent = `${p.execution.host} · ${formatDuration(durationMs(p))}`;
  nodes.push({
    id: q,
    layer: 1,
    label: taskOf(p),
    sub: agent,
    cls: 'task',
    shape: 'square',
    tooltip: `${taskOf(p)}\n${dataIdText(p.quantum.dataId)}\nhost ${p.execution.host}, pid ${p.execution.pid}\n${p.execution.startedAt} → ${p.execution.endedAt}\n${q}`,
  });
  used.add('task');
  for (const i of [...p.inputs].sort(byRef)) {
    const cls = inputColour(p, i);
    used.add(cls);
    nodes.push({ id: `in:${i.ref.id}`, layer: 0, label: i.ref.datasetType, sub: dataIdText(i.ref.dataId), cls, shape: 'round', tooltip: `${i.ref.datasetType} ${dataIdText(i.ref.dataId)}\nrun ${i.ref.run}\nstate ${i.state}${i.unusedReason ? `: ${i.unusedReason}` : ''}\n${i.ref.id}` });
    edges.push({ from: `in:${i.ref.id}`, to: q, label: inputEdgeLabel[cls], dashed: cls !== 'used', labelAt: 'start' });
  }
  for (const o of [...p.outputs].sort(byRef)) {
    const cls: Colour = o.written ? 'written' : 'notwritten';
    used.add(cls);
    nodes.push({ id: `out:${o.ref.id}`, layer: 2, label: o.ref.datasetType, sub: dataIdText(o.ref.dataId), cls, shape: 'round', tooltip: `${o.ref.datasetType} ${dataIdText(o.ref.dataId)}\nrun ${o.ref.run}\n${o.written ? `${o.size ?? '?'} bytes, sha256 ${o.sha256 ?? '?'}` : o.pruned ? 'pruned' : 'not written'}\n${o.ref.id}` });
    edges.push({ from: q, to: `out:${o.ref.id}`, label: o.written ? 'generated' : o.pruned ? 'pruned' : 'not written', dashed: !o.written, labelAt: 'end' });
  }
  return renderGraph(nodes, edges, `quantum ${q}`);
}

/** Tasks and dataset types, layered by what feeds what; edges count the quanta's actual inputs and outputs. */
function overviewGraph(docs: readonly ReportDocument[], used: Set<Colour>): string {
  const tasks = new Map<string, { ins: Map<string, number>; outs: Map<string, number> }>();
  for (const { provenance: p } of docs) {
    const t = tasks.get(taskOf(p)) ?? tasks.set(taskOf(p), { ins: new Map(), outs: new Map() }).get(taskOf(p))!;
    const actual = new Set(p.actualInputs);
    for (const i of p.inputs) t.ins.set(i.ref.datasetType, (t.ins.get(i.ref.datasetType) ?? 0) + (actual.has(i.ref.id) ? 1 : 0));
    for (const o of p.outputs) t.outs.set(o.ref.datasetType, (t.outs.get(o.ref.datasetType) ?? 0) + (o.written ? 1 : 0));
  }
  // Layers: a task sits right of every type it reads, a type right of every task that writes it.
  const typeLayer = new Map<string, number>();
  const taskLayer = new Map<string, number>();
  for (let round = 0; round <= tasks.size; round++) {
    let changed = false;
    for (const [name, t] of tasks) {
      const l = 1 + Math.max(-1, ...[...t.ins.keys()].map((d) => typeLayer.get(d) ?? 0));
      if (taskLayer.get(name) !== l) (taskLayer.set(name, l), (changed = true));
      for (const d of t.outs.keys()) {
        if ((typeLayer.get(d) ?? 0) < l + 1) (typeLayer.set(d, l + 1), (changed = true));
      }
    }
    if (!changed) break;
  }
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const types = new Set<string>();
  for (const t of tasks.values()) for (const d of [...t.ins.keys(), ...t.outs.keys()]) types.add(d);
  for (const d of [...types].sort()) {
    nodes.push({ id: `type:${d}`, layer: typeLayer.get(d) ?? 0, label: d, sub: 'dataset type', cls: 'dtype', shape: 'round' });
    used.add('dtype');
  }
  for (const [name, t] of [...tasks].sort(([a], [b]) => a.localeCompare(b))) {
    const n = docs.filter((d) => taskOf(d.provenance) === name).length;
    nodes.push({ id: `task:${name}`, layer: taskLayer.get(name) ?? 1, label: name, sub: `${n} quant${n === 1 ? 'um' : 'a'}`, cls: 'task', shape: 'square' });
    used.add('task');
    for (const [d, k] of [...t.ins].sort()) edges.push({ from: `type:${d}`, to: `task:${name}`, label: k > 0 ? `used ×${k}` : 'not used', dashed: k === 0, labelAt: 'start' });
    for (const [d, k] of [...t.outs].sort()) edges.push({ from: `task:${name}`, to: `type:${d}`, label: k > 0 ? `generated ×${k}` : 'not written', dashed: k === 0, labelAt: 'end' });
  }
  return renderGraph(nodes, edges, 'tasks and dataset types');
}

function cell(text: string, cls = ''): string {
  return `<td${cls ? ` class="${cls}"` : ''} title="${esc(text)}">${esc(text)}</td>`;
}

function inputRows(p: NativeProvenance): string {
  return [...p.inputs]
    .sort(byRef)
    .map((i: Input) => `<tr>${cell(i.ref.datasetType)}${cell(dataIdText(i.ref.dataId))}${cell(i.ref.run)}${cell(i.state)}${cell(String(i.loads), 'num')}${cell(i.unusedReason ?? '')}${cell(i.ref.id, 'id')}</tr>`)
    .join('');
}

function outputRows(p: NativeProvenance): string {
  return [...p.outputs]
    .sort(byRef)
    .map((o: Output) => `<tr>${cell(o.ref.datasetType)}${cell(dataIdText(o.ref.dataId))}${cell(o.ref.run)}${cell(o.written ? 'written' : o.pruned ? 'pruned' : 'not written')}${cell(o.size === null ? '' : String(o.size), 'num')}${cell(o.sha256 ?? '', 'id')}</tr>`)
    .join('');
}

function quantumDetail(d: ReportDocument, used: Set<Colour>): string {
  const p = d.provenance;
  const diags = p.diagnostics.map((x) => `<li><b>${esc(x.code)}</b>: ${esc(x.message)}</li>`).join('');
  return `<details class="quantum" id="${esc(anchor(p))}"><summary>${esc(dataIdText(p.quantum.dataId) || p.quantum.id)} <span class="id">${esc(p.quantum.id)}</span></summary>
<p>Agent: task <b>${esc(taskOf(p))}</b> on host <b>${esc(p.execution.host)}</b> (pid ${p.execution.pid}, ${esc(p.execution.sidecar.name)} ${esc(p.execution.sidecar.version)}, Node ${esc(p.execution.node)}); ${esc(p.execution.startedAt)} → ${esc(p.execution.endedAt)} (${esc(formatDuration(durationMs(p)))}). <a href="${esc(documentHref(d))}" download="${esc(p.quantum.id)}.provenance.json">provenance JSON</a></p>
${diags ? `<ul class="diag">${diags}</ul>` : ''}
${quantumGraph(p, used)}
<table><thead><tr><th>input</th><th>data ID</th><th>run</th><th>state</th><th>loads</th><th>unused because</th><th>id</th></tr></thead><tbody>${inputRows(p)}</tbody></table>
<table><thead><tr><th>output</th><th>data ID</th><th>run</th><th>state</th><th>bytes</th><th>sha256</th></tr></thead><tbody>${outputRows(p)}</tbody></table>
</details>`;
}

function taskSection(name: string, docs: ReportDocument[], open: boolean, used: Set<Colour>): string {
  const durations = docs.map((d) => durationMs(d.provenance)).filter((x): x is number => x !== null);
  const total = durations.reduce((a, b) => a + b, 0);
  const hosts = [...new Set(docs.map((d) => d.provenance.execution.host))].sort();
  const written = docs.reduce((a, d) => a + d.provenance.actualOutputs.length, 0);
  const predicted = docs.reduce((a, d) => a + d.provenance.predictedOutputs.length, 0);
  const rows = docs
    .map((d, k) => {
      const p = d.provenance;
      return `<tr><td class="num">${k + 1}</td>${cell(dataIdText(p.quantum.dataId))}${cell(p.execution.host)}${cell(p.execution.startedAt)}${cell(formatDuration(durationMs(p)), 'num')}${cell(`${p.actualInputs.length}/${p.predictedInputs.length}`, 'num')}${cell(`${p.actualOutputs.length}/${p.predictedOutputs.length}`, 'num')}${cell(p.diagnostics.map((x) => x.code).join(', '))}<td><a href="#${esc(anchor(p))}">details</a> · <a href="${esc(documentHref(d))}" download="${esc(p.quantum.id)}.provenance.json">JSON</a></td></tr>`;
    })
    .join('');
  return `<details class="task"${open ? ' open' : ''}><summary><b>${esc(name)}</b>: ${docs.length} quant${docs.length === 1 ? 'um' : 'a'} on ${esc(hosts.join(', '))}; ${written}/${predicted} outputs written; ${esc(formatDuration(total))} in all</summary>
<table class="quanta"><thead><tr><th>#</th><th>data ID</th><th>host</th><th>started</th><th>duration</th><th>inputs used</th><th>outputs written</th><th>diagnostics</th><th>document</th></tr></thead><tbody>${rows}</tbody></table>
${docs.map((d) => quantumDetail(d, used)).join('\n')}
</details>`;
}

function legend(used: Set<Colour>): string {
  const items = REPORT_COLOURS.filter(([cls]) => used.has(cls)).map(
    ([cls, text, fill, stroke]) => `<li class="legend-item" data-colour="${cls}"><span class="swatch" style="background:${fill};border-color:${stroke}"></span>${esc(text)}</li>`,
  );
  return `<ul class="legend">${items.join('')}<li class="legend-item edge-key"><span class="line"></span>used / generated</li><li class="legend-item edge-key"><span class="line dashed"></span>not used / not written</li></ul>`;
}

function css(): string {
  const fills = REPORT_COLOURS.map(([cls, , fill, stroke]) => `.node.${cls} rect{fill:${fill};stroke:${stroke}}`).join('\n');
  return `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#223}
h1{font-size:20px;margin-bottom:4px} h2{font-size:16px;margin-top:24px} .id{font:11px ${MONO_FONT_FAMILY};color:#667}
.graph{overflow:auto;max-height:80vh;border:1px solid #e4e4ec;margin:8px 0;background:#fff}
.graph text{font-family:${MONO_FONT_FAMILY}} .label{font-weight:600;font-size:12px} .sub{font-size:11px;fill:#556}
.edge path{fill:none;stroke:#667;stroke-width:1.4} .edge.dashed path{stroke-dasharray:5 4;stroke:#aab}
.edge-label{font-size:10px;fill:#445;paint-order:stroke;stroke:#fff;stroke-width:3px}
${fills}
table{border-collapse:collapse;margin:8px 0 16px;table-layout:auto} td,th{border:1px solid #ccd;padding:3px 8px;text-align:left}
td{max-width:20em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap} td.num{text-align:right} td.id{font:11px ${MONO_FONT_FAMILY};color:#667;max-width:14em}
details{margin:6px 0} details.task{border-left:3px solid #c80;padding-left:10px} details.quantum{border-left:2px solid #ccd;padding-left:10px;margin-left:8px}
summary{cursor:pointer}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px 16px}
.legend-item{display:flex;align-items:center;gap:6px}
.swatch{display:inline-block;width:22px;height:14px;border:1.5px solid;border-radius:4px}
.line{display:inline-block;width:26px;border-top:2px solid #667} .line.dashed{border-top:2px dashed #aab}
.diag{color:#a50}`;
}

/**
 * The report for these documents (native provenance, or with a link to each one's JSON).
 * `title` heads the page.
 */
export function renderProvenanceReport(title: string, documents: readonly (NativeProvenance | ReportDocument)[], opts: ReportOptions = {}): string {
  const docs: ReportDocument[] = documents.map((d) => ('provenance' in d ? d : { provenance: d })).sort(byStart);
  const byTask = new Map<string, ReportDocument[]>();
  for (const d of docs) (byTask.get(taskOf(d.provenance)) ?? byTask.set(taskOf(d.provenance), []).get(taskOf(d.provenance))!).push(d);
  const used = new Set<Colour>();
  const overview = overviewGraph(docs, used);
  const open = docs.length <= (opts.openUpTo ?? 12);
  // Tasks in the order they first started (then by name).
  const sections = [...byTask].map(([name, ds]) => taskSection(name, ds, open, used)).join('\n');
  const hosts = new Set(docs.map((d) => d.provenance.execution.host));
  const starts = docs.map((d) => d.provenance.execution.startedAt).sort();
  const ends = docs.map((d) => d.provenance.execution.endedAt).sort();
  const written = docs.reduce((a, d) => a + d.provenance.actualOutputs.length, 0);
  const summary = docs.length
    ? `${docs.length} quant${docs.length === 1 ? 'um' : 'a'} of ${byTask.size} task${byTask.size === 1 ? '' : 's'} on ${hosts.size} host${hosts.size === 1 ? '' : 's'}, ${written} outputs written; ${esc(starts[0]!)} → ${esc(ends[ends.length - 1]!)}.`
    : 'No quanta.';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
${css()}
</style></head><body>
${GRAPH_DEFS}
<h1>${esc(title)}</h1>
${opts.subtitle ? `<p class="subtitle">${esc(opts.subtitle)}</p>` : ''}
<p class="summary">${summary}</p>
${legend(used)}
<h2>Tasks and dataset types</h2>
${overview}
<h2>Quanta by task</h2>
${sections}
</body></html>
`;
}
