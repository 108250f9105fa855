/**
 * Every ```ts block of README.md type-checks against the package's sources (`tsc
 * --noEmit`, strict, NodeNext), as a user of the published package would import it:
 * `quantum-butler`, `quantum-butler/client` and `quantum-butler/protocol` map to the
 * entry points of package.json's "exports". A block may be preceded by
 * `<!-- compiled with: ... -->`: declarations the example assumes (its host's own
 * variables), compiled in front of it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/docs/repo-root.js';

const dir = mkdtempSync(join(tmpdir(), 'qb-readme-ts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The ```ts blocks of a Markdown text, each with its `compiled with` preamble. */
export function typescriptBlocks(markdown: string): Array<{ line: number; code: string }> {
  const out: Array<{ line: number; code: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```ts' && lines[i] !== '```typescript') continue;
    const end = lines.indexOf('```', i + 1);
    const pre = /^<!-- compiled with: (.*) -->$/.exec(lines[i - 1] ?? '');
    out.push({ line: i + 1, code: `${pre ? pre[1] : ''}\n${lines.slice(i + 1, end).join('\n')}\nexport {};\n` });
    i = end;
  }
  return out;
}

function tsc(project: string): Promise<{ code: number | null; out: string }> {
  const bin = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  return new Promise((resolve) =>
    execFile(process.execPath, [bin, '-p', project], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

function project(files: string[]): string {
  const config = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      esModuleInterop: true,
      resolveJsonModule: true,
      types: ['node'],
      typeRoots: [join(repoRoot, 'node_modules', '@types')],
      paths: {
        'quantum-butler': [join(repoRoot, 'src', 'index.ts')],
        'quantum-butler/client': [join(repoRoot, 'src', 'client', 'index.ts')],
        'quantum-butler/protocol': [join(repoRoot, 'protocol', 'index.ts')],
      },
    },
    files,
  };
  const path = join(dir, `tsconfig-${files.length}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

describe("README.md's TypeScript", () => {
  const blocks = typescriptBlocks(readFileSync(join(repoRoot, 'README.md'), 'utf8'));

  it('has a TypeScript example', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  it('every block type-checks (tsc --noEmit)', async () => {
    const files = blocks.map((b, i) => {
      const f = join(dir, `readme-block-${i}-line-${b.line}.mts`);
      writeFileSync(f, b.code);
      return f;
    });
    const r = await tsc(project(files));
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);

  it('the check can fail: a call with a wrong argument type is reported', async () => {
    const f = join(dir, 'wrong.mts');
    writeFileSync(f, "import { QuantumButlerClient } from 'quantum-butler/client';\nconst c = await QuantumButlerClient.spawn();\nawait c.openSession(42);\nexport {};\n");
    const r = await tsc(project([f]));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/wrong\.mts\(3,/);
  }, 120_000);
});
