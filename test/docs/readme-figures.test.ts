/**
 * README.md's performance figures are the bench's: every timing or throughput figure in
 * the README sits in the Performance table, and each row names fields that
 * `npm run bench` writes to bench-results/bench.json (the repository and registry
 * sidecar, startup and memory sections' figure lists, which test/bench/figures.test.ts
 * checks the bench produces). A figure
 * added elsewhere in the README, or naming a field the bench does not write, fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REGISTRY_FIGURES, REPOSITORY_FIGURES, SIDECAR_FIGURES, STARTUP_FIGURES, memoryFigures } from '../bench/figures.js';
import { repoRoot } from '../../scripts/docs/repo-root.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** A timing, a throughput or a ratio to the echo ceiling: "14–15 ms", "28–36k calls/s", "0.8–1.0x". */
const FIGURE = /\b\d[\d.,]*(?:–\d[\d.,]*)?\s?k?\s?(?:ms|s|MiB\/s|calls\/s|datasets\/s)\b|\b\d[\d.]*(?:–\d[\d.]*)?x\b/g;

function performanceSection(): string {
  const start = readme.indexOf('\n## Performance\n');
  expect(start, 'README.md has a Performance section').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The table rows: [what, measured, fields]. */
function rows(): Array<{ line: string; measured: string; fields: string[] }> {
  return performanceSection()
    .split('\n')
    // The header row exactly: a row may begin with "what" too (the event cost's does).
    .filter((l) => l.startsWith('| ') && !l.startsWith('| what | measured |'))
    .map((line) => {
      const cells = line.slice(1, -1).split(' | ').map((c) => c.trim());
      return { line, measured: cells[1] ?? '', fields: [...(cells[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!) };
    });
}

function benchWrites(field: string): boolean {
  const sidecar = /^sidecar\["([^"]+)"\]\.(\w+)$/.exec(field);
  if (sidecar) return (SIDECAR_FIGURES as readonly string[]).includes(`${sidecar[1]}.${sidecar[2]}`);
  const [section, ...rest] = field.split('.');
  const path = rest.join('.');
  if (section === 'repository') return (REPOSITORY_FIGURES as readonly string[]).includes(path);
  if (section === 'registry') return (REGISTRY_FIGURES as readonly string[]).includes(path);
  if (section === 'startup') return (STARTUP_FIGURES as readonly string[]).includes(path);
  if (section === 'sidecar') return (SIDECAR_FIGURES as readonly string[]).includes(path);
  if (section === 'memory') return memoryFigures([64, 128]).includes(path);
  return false;
}

describe('README performance figures', () => {
  it('every row has a figure and names only fields the bench writes', () => {
    const table = rows();
    expect(table.length).toBeGreaterThan(0);
    for (const row of table) {
      expect(row.measured.match(FIGURE), row.line).not.toBeNull();
      expect(row.fields.length, row.line).toBeGreaterThan(0);
      for (const f of row.fields) expect(benchWrites(f), `${f} (in: ${row.line})`).toBe(true);
    }
  });

  it('no figure appears outside the Performance table', () => {
    const outside = readme.replace(performanceSection(), '').replace(/```[\s\S]*?```/g, '');
    expect(outside.match(FIGURE) ?? []).toEqual([]);
  });

  it('the checks can fail: a field the bench does not write and a figure in prose are caught', () => {
    expect(benchWrites('repository.collect.minutes')).toBe(false);
    expect(benchWrites('sidecar["butler/teleport"].value')).toBe(false);
    // Every row is checked, the event cost's ("what the event stream costs ...") among them.
    expect(rows().some((r) => r.fields.includes('sidecar.eventCostSequential'))).toBe(true);
    expect('collects in 12–14 s on a laptop'.match(FIGURE)).not.toBeNull();
  });
});
