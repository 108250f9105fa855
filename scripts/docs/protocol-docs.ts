/** Regenerates docs/protocol/*.md's generated blocks in memory (the CLI: scripts/gen-protocol-docs.ts). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { examplesOf, renderExamples, type Example } from './example-render.js';
import { replaceBlocks } from './markers.js';
import { renderTable, type SchemaDocument } from './schema-tables.js';
import { repoRoot } from './repo-root.js';

export const PROTOCOL_DOCS = join(repoRoot, 'docs', 'protocol');
export const EXAMPLES = join(PROTOCOL_DOCS, 'examples');

export function protocolDocFiles(): string[] {
  return readdirSync(PROTOCOL_DOCS)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join(PROTOCOL_DOCS, f));
}

export function loadExamples(): Example[] {
  return readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => examplesOf(`docs/protocol/examples/${f}`, readFileSync(join(EXAMPLES, f), 'utf8')));
}

/** file → its text with every generated block regenerated. */
export function generateProtocolDocs(): Map<string, string> {
  const schema = JSON.parse(readFileSync(join(repoRoot, 'protocol', 'schema.json'), 'utf8')) as SchemaDocument;
  const examples = loadExamples();
  const out = new Map<string, string>();
  for (const file of protocolDocFiles()) {
    const text = readFileSync(file, 'utf8');
    out.set(
      file,
      replaceBlocks(text, (b) => {
        if (b.kind === 'params' || b.kind === 'result') return renderTable(schema, b.kind, b.name, b.body);
        if (b.kind === 'examples') return renderExamples(examples, b.name);
        throw new Error(`${file}: unknown generated block kind "${b.kind}"`);
      }),
    );
  }
  return out;
}
