/**
 * Generated blocks inside hand-written Markdown: a block starts with
 * `<!-- BEGIN GENERATED: KIND NAME -->` and ends with `<!-- END GENERATED: KIND NAME -->`;
 * everything outside the markers is prose and is kept as it is.
 */

export interface Block {
  kind: string;
  name: string;
  /** The text between the two marker lines (without them). */
  body: string;
}

const BEGIN = /^<!-- BEGIN GENERATED: (\S+) (\S+) -->$/;

export const beginMarker = (kind: string, name: string) => `<!-- BEGIN GENERATED: ${kind} ${name} -->`;
export const endMarker = (kind: string, name: string) => `<!-- END GENERATED: ${kind} ${name} -->`;

/** Every generated block of a file, in order; throws on an unclosed or mismatched block. */
export function findBlocks(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = BEGIN.exec(lines[i]!);
    if (!m) continue;
    const [, kind, name] = m as unknown as [string, string, string];
    const end = lines.indexOf(endMarker(kind, name), i + 1);
    if (end < 0) throw new Error(`unclosed generated block "${kind} ${name}" at line ${i + 1}`);
    blocks.push({ kind, name, body: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** The text with every block's body replaced by `render(block)`; the markers stay. */
export function replaceBlocks(text: string, render: (block: Block) => string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = BEGIN.exec(lines[i]!);
    out.push(lines[i]!);
    if (!m) continue;
    const [, kind, name] = m as unknown as [string, string, string];
    const end = lines.indexOf(endMarker(kind, name), i + 1);
    if (end < 0) throw new Error(`unclosed generated block "${kind} ${name}" at line ${i + 1}`);
    const body = render({ kind, name, body: lines.slice(i + 1, end).join('\n') });
    if (body !== '') out.push(body);
    out.push(lines[end]!);
    i = end;
  }
  return out.join('\n');
}
