/**
 * The repository's Markdown links only inside the repository: every relative link of
 * README.md, protocol/README.md, docs/**, clients/python/README.md and fixtures/**\/README.md
 * names a file or folder that exists (and, for a Markdown file, a heading or anchor it
 * has); none climbs out of the repository.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/docs/repo-root.js';

function markdownFiles(): string[] {
  const out = ['README.md', 'protocol/README.md', 'clients/python/README.md'].map((f) => join(repoRoot, f));
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) out.push(p);
    }
  };
  walk(join(repoRoot, 'docs'));
  walk(join(repoRoot, 'fixtures'));
  return out.filter((f) => existsSync(f));
}

/** GitHub's heading anchors (lower case, punctuation dropped, spaces to dashes, -1 for repeats) plus explicit ids. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const h = /^#{1,6} (.*)$/.exec(line);
    if (h) {
      const base = h[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-');
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a id="([^"]+)"><\/a>/g)) anchors.add(m[1]!);
  }
  return anchors;
}

/** Inline links outside code: [text](target). */
function linksOf(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) out.push(m[1]!);
  }
  return out;
}

describe('Markdown links', () => {
  const files = markdownFiles();

  it('finds the documents', () => {
    expect(files.map((f) => relative(repoRoot, f))).toEqual(expect.arrayContaining(['README.md', 'protocol/README.md', 'docs/ARCHITECTURE.md']));
  });

  for (const file of files) {
    it(`${relative(repoRoot, file)}: every relative link resolves inside the repository`, () => {
      const text = readFileSync(file, 'utf8');
      const problems: string[] = [];
      for (const link of linksOf(text)) {
        if (/^[a-z]+:/i.test(link)) continue; // https:, mailto:
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
        if (relative(repoRoot, target).startsWith('..')) {
          problems.push(`${link}: outside the repository`);
          continue;
        }
        if (!existsSync(target)) {
          problems.push(`${link}: no such file`);
          continue;
        }
        if (anchor && target.endsWith('.md') && statSync(target).isFile() && !anchorsOf(readFileSync(target, 'utf8')).has(anchor)) {
          problems.push(`${link}: no heading #${anchor}`);
        }
      }
      expect(problems).toEqual([]);
    });
  }
});

describe('source comments', () => {
  /** Citations of notes that are not in the repository (the "reference" notes, a shared folder beside it). */
  const OUTSIDE = /reference §|\.\.\/shared\/|\/shared\/(?:DESIGN|reference)/;

  it('cite nothing outside the repository', () => {
    const hits: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          if (e.name !== 'node_modules' && e.name !== '__pycache__') walk(p);
        } else if (/\.(ts|mjs|py|sh|md)$/.test(e.name)) {
          readFileSync(p, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              if (OUTSIDE.test(line) && !line.includes('const OUTSIDE')) hits.push(`${relative(repoRoot, p)}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    for (const d of ['src', 'protocol', 'test', 'clients', 'scripts', 'fixtures', 'docs']) walk(join(repoRoot, d));
    if (OUTSIDE.test(readFileSync(join(repoRoot, 'README.md'), 'utf8'))) hits.push('README.md');
    expect([...new Set(hits)]).toEqual([]);
  });
});
