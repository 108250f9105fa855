/**
 * A layered graph drawn as inline SVG, left to right: nodes in columns by layer, two lines
 * of text each (cut to the column's width, full text in a tooltip), edges as curves with a
 * text label. No scripts: the page scrolls the drawing when it is larger than the window.
 */
import { fitText, monoWidth } from './text-fit.js';
import { escapeHtml } from './escape.js';

export interface GraphNode {
  id: string;
  layer: number;
  label: string;
  sub: string;
  /** The node's colour class (one legend entry each). */
  cls: string;
  /** Full description for the tooltip (default: label and sub). */
  tooltip?: string;
  /** Rounded (datasets) or square (quanta, tasks). */
  shape: 'round' | 'square';
}

export interface GraphEdge {
  from: string;
  to: string;
  label: string;
  dashed?: boolean;
  /** Which end the label sits at: the end with many siblings keeps labels apart. */
  labelAt: 'start' | 'end';
}

const LABEL_SIZE = 12;
const SUB_SIZE = 11;
const EDGE_LABEL_SIZE = 10;
const PAD_X = 10;
const MIN_W = 120;
const MAX_W = 300;
const H = 44;
const GAP_X = 110;
const GAP_Y = 14;
const MARGIN = 16;

/** The arrow head every graph's edges use: put once in the page (ids are page-wide). */
export const GRAPH_DEFS = `<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#667"/></marker></defs></svg>`;

export function renderGraph(nodes: readonly GraphNode[], edges: readonly GraphEdge[], ariaLabel: string): string {
  const columns = new Map<number, GraphNode[]>();
  for (const n of nodes) (columns.get(n.layer) ?? columns.set(n.layer, []).get(n.layer)!).push(n);
  const layers = [...columns.keys()].sort((a, b) => a - b);
  const pos = new Map<string, { x: number; y: number; w: number }>();
  let x = MARGIN;
  let height = 0;
  for (const l of layers) {
    const col = columns.get(l)!;
    const want = Math.max(...col.map((n) => Math.max(monoWidth(n.label, LABEL_SIZE), monoWidth(n.sub, SUB_SIZE)) + 2 * PAD_X));
    const w = Math.min(MAX_W, Math.max(MIN_W, want));
    col.forEach((n, i) => pos.set(n.id, { x, y: MARGIN + i * (H + GAP_Y), w }));
    height = Math.max(height, 2 * MARGIN + col.length * (H + GAP_Y) - GAP_Y);
    x += w + GAP_X;
  }
  const width = x - GAP_X + MARGIN;
  const parts: string[] = [];
  for (const e of edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + a.w;
    const y1 = a.y + H / 2;
    const x2 = b.x;
    const y2 = b.y + H / 2;
    const mid = (x1 + x2) / 2;
    const lw = monoWidth(e.label, EDGE_LABEL_SIZE);
    const lx = e.labelAt === 'start' ? x1 + 6 : x2 - 8 - lw;
    const ly = (e.labelAt === 'start' ? y1 : y2) - 4;
    parts.push(
      `<g class="edge${e.dashed ? ' dashed' : ''}"><path d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}" marker-end="url(#arrow)"/>` +
        `<text class="edge-label" x="${lx}" y="${ly}">${escapeHtml(e.label)}</text></g>`,
    );
  }
  for (const n of nodes) {
    const p = pos.get(n.id)!;
    const inner = p.w - 2 * PAD_X;
    const label = fitText(n.label, LABEL_SIZE, inner);
    const sub = fitText(n.sub, SUB_SIZE, inner);
    const tip = n.tooltip ?? [n.label, n.sub, n.id].filter(Boolean).join('\n');
    parts.push(
      `<g class="node ${n.cls}" data-id="${escapeHtml(n.id)}"><title>${escapeHtml(tip)}</title>` +
        `<rect x="${p.x}" y="${p.y}" width="${p.w}" height="${H}" rx="${n.shape === 'round' ? 14 : 4}"/>` +
        `<text class="label" x="${p.x + PAD_X}" y="${p.y + 18}">${escapeHtml(label.text)}</text>` +
        `<text class="sub" x="${p.x + PAD_X}" y="${p.y + 34}">${escapeHtml(sub.text)}</text></g>`,
    );
  }
  return `<div class="graph"><svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeHtml(ariaLabel)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
${parts.join('\n')}
</svg></div>`;
}
