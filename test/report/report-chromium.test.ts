/**
 * The report as a browser shows it: 110 quanta of three tasks rendered by the `report`
 * command from provenance files, opened in headless Chromium (Debian's `chromium`, driven by
 * playwright-core) with every section expanded. Every graph node's text must lie inside its
 * box, every legend colour must be a colour some node has and every node colour must have a
 * legend entry, every edge must carry a label, table cells cut short must carry their full
 * text as a tooltip, and the page must request nothing but itself and its data: links.
 *
 * Skipped, with a printed reason, where no Chromium starts (QB_CHROMIUM names another binary).
 * QB_REPORT_SCREENSHOT=FILE also saves a screenshot (docs/images/report.png is made so).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/run-cli.js';
import { syntheticPipeline } from './synthetic-provenance.js';

const CANDIDATES = [process.env['QB_CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((p): p is string => !!p);

async function launch(): Promise<Browser | undefined> {
  const found = CANDIDATES.filter((p) => existsSync(p));
  if (found.length === 0) {
    console.warn(`[report-chromium] SKIPPED: no Chromium found (looked for ${CANDIDATES.join(', ')}); install Debian's chromium package or set QB_CHROMIUM.`);
    return undefined;
  }
  try {
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    return await chromium.launch({ executablePath: found[0], args: ['--no-sandbox'], timeout: 30_000 });
  } catch (err) {
    console.warn(`[report-chromium] SKIPPED: ${found[0]} did not start: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

const browser = await launch();
const dir = mkdtempSync(join(tmpdir(), 'qb-report-'));
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!browser)('the HTML report in Chromium', () => {
  it('110 quanta: text fits every node, every legend colour is used and every colour has an entry', async () => {
    const docs = syntheticPipeline(40);
    expect(docs.length).toBeGreaterThanOrEqual(100);
    const files = docs.map((d, i) => {
      const f = join(dir, `q${i}.provenance.json`);
      writeFileSync(f, JSON.stringify(d));
      return f;
    });
    const out = join(dir, 'report.html');
    const r = cli(['report', ...files, '--out', out, '--title', 'synthetic pipeline']);
    expect(r.status, r.stderr).toBe(0);

    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    page.on('request', (req) => requests.push(req.url()));
    await page.goto(pathToFileURL(out).href);
    const found = await page.evaluate(() => {
      for (const d of document.querySelectorAll('details')) d.open = true;
      const nodes = [...document.querySelectorAll<SVGGElement>('g.node')].map((g) => {
        const rect = g.querySelector('rect')!;
        const box = rect.getBBox();
        const texts = [...g.querySelectorAll<SVGTextElement>('text')].map((t) => ({ text: t.textContent ?? '', b: t.getBBox() }));
        const overflow = texts.filter(({ b }) => b.width > 0 && (b.x < box.x || b.x + b.width > box.x + box.width || b.y < box.y || b.y + b.height > box.y + box.height)).map((t) => t.text);
        const cls = [...g.classList].filter((c) => c !== 'node');
        return { cls: cls[0] ?? '', fill: getComputedStyle(rect).fill, overflow, rendered: box.width > 0, hasTooltip: g.querySelector('title') !== null };
      });
      const legend = [...document.querySelectorAll<HTMLElement>('.legend-item[data-colour]')].map((li) => ({
        cls: li.dataset['colour'] ?? '',
        colour: getComputedStyle(li.querySelector('.swatch')!).backgroundColor,
      }));
      const edges = [...document.querySelectorAll('g.edge')].map((e) => e.querySelector('text')?.textContent ?? '');
      const cutCells = [...document.querySelectorAll<HTMLTableCellElement>('td')]
        .filter((td) => td.scrollWidth > td.clientWidth + 1)
        .map((td) => ({ text: td.textContent, title: td.title }));
      const graphs = document.querySelectorAll('svg[role=img]').length;
      return { nodes, legend, edges, cutCells, graphs };
    });

    expect(found.graphs).toBe(1 + docs.length); // the overview and one per quantum
    expect(found.nodes.every((n) => n.rendered)).toBe(true);
    expect(found.nodes.filter((n) => n.overflow.length > 0)).toEqual([]);
    expect(found.nodes.every((n) => n.hasTooltip)).toBe(true);
    // Legend ⇔ node colours, both ways, and the states this pipeline has are all there.
    const legendColours = new Set(found.legend.map((l) => l.colour));
    for (const l of found.legend) expect(found.nodes.some((n) => n.cls === l.cls && n.fill === l.colour), `legend ${l.cls}`).toBe(true);
    for (const n of found.nodes) expect(legendColours.has(n.fill), `node ${n.cls} ${n.fill}`).toBe(true);
    expect(found.legend.map((l) => l.cls).sort()).toEqual(['dtype', 'missing', 'notwritten', 'task', 'unchecked', 'unused', 'used', 'written']);
    expect(found.edges.length).toBeGreaterThan(docs.length);
    expect(found.edges.filter((t) => t.trim() === '')).toEqual([]);
    expect(new Set(found.edges.map((t) => t.replace(/ ×\d+$/, '')))).toEqual(new Set(['used', 'generated', 'not used', 'missing', 'not checked', 'not written']));
    for (const c of found.cutCells) expect(c.title).toBe(c.text);
    expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);

    const shot = process.env['QB_REPORT_SCREENSHOT'];
    if (shot) {
      // The top of the page, then the first quantum opened (its task's table folded away).
      await page.evaluate(() => {
        document.querySelectorAll('details').forEach((d, i) => (d.open = i < 2));
        document.querySelector<HTMLElement>('table.quanta')!.style.display = 'none';
      });
      await page.screenshot({ path: shot, clip: { x: 0, y: 0, width: 1100, height: 860 } });
    }
    await page.close();
  }, 120_000);
});
