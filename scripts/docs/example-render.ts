/**
 * Examples of docs/protocol/*.md, rendered from the recorded transcripts in
 * docs/protocol/examples/*.json (format: fixtures/transcripts/README.md).
 *
 * A send step whose comment is `example: TEXT` starts an example (TEXT is its lead-in);
 * `example(METHOD): TEXT` files it under METHOD instead of the method it sends (for a
 * raw body). Sends commented `example: +` continue it; the expect, notify and
 * expectExit lines that follow belong to it; any other send, spawn or meta line ends it.
 * An example is shown under the method of its first send, in transcript order.
 */

import { readEntries } from '../../src/replay/transcript-file.js';

type Line = Record<string, unknown> & { comment?: string };

export interface Example {
  /** The transcript file and 1-based line of the example's first send. */
  file: string;
  line: number;
  method: string;
  leadIn: string;
  lines: Line[];
}

const START = /^example(?:\(([^)]+)\))?: (.*)$/s;


export function examplesOf(file: string, text: string): Example[] {
  const out: Example[] = [];
  let current: Example | null = null;
  readEntries(text).forEach(({ value, line: lineNo }) => {
    const line = value as Line;
    const isSend = 'send' in line || 'sendRaw' in line;
    const m = typeof line.comment === 'string' ? START.exec(line.comment) : null;
    if (isSend && m && m[2] !== '+') {
      const send = line.send as { method: string } | undefined;
      const method = m[1] ?? send?.method;
      if (!method) throw new Error(`${file}:${lineNo}: a raw example needs example(METHOD): TEXT`);
      current = { file, line: lineNo, method, leadIn: m[2]!, lines: [line] };
      out.push(current);
    } else if (isSend && m) {
      if (!current) throw new Error(`${file}:${lineNo}: "example: +" continues no example`);
      current.lines.push(line);
    } else if (current && ('expect' in line || 'notify' in line || 'expectExit' in line)) {
      current.lines.push(line);
    } else if (!('comment' in line && Object.keys(line).length === 1)) {
      current = null;
    }
  });
  return out;
}

/** One-line JSON with a space after each colon and comma. */
function inline(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`)
    .join(', ')}}`;
}

/** JSON indented by 2; arrays and objects that fit in `width` columns stay on one line. */
export function pretty(value: unknown, indent = '', width = 100): string {
  const flat = inline(value);
  if (value === null || typeof value !== 'object' || indent.length + flat.length <= width) return flat;
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + pretty(v, inner, width)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${pretty(v, inner, width)}`).join(',\n')}\n${indent}}`;
}

function renderLine(line: Line): string {
  const pad = '    ';
  if ('send' in line) return `--> ${pretty(line.send, pad)}`;
  if ('sendRaw' in line) return `--> (raw body) ${line.sendRaw as string}`;
  if ('notify' in line) return `<-- ${pretty(line.notify, pad)}`;
  if ('expect' in line) return `<-- ${pretty(line.expect, pad)}`;
  if ('expectExit' in line) return `(the process exits with code ${String(line.expectExit)})`;
  throw new Error(`cannot render ${JSON.stringify(line)}`);
}

/** Sends first, then what came back: notifications, then responses (the order of the wire). */
export function renderExample(ex: Example): string {
  const order = (l: Line) => ('send' in l || 'sendRaw' in l ? 0 : 'notify' in l ? 1 : 'expect' in l ? 2 : 3);
  // Blocks keep their order; within a block (sends up to the next send after a reply) sort by order.
  const blocks: Line[][] = [];
  let block: Line[] = [];
  for (const l of ex.lines) {
    if (order(l) === 0 && block.some((b) => order(b) > 0)) {
      blocks.push(block);
      block = [];
    }
    block.push(l);
  }
  blocks.push(block);
  const body = blocks.flatMap((b) => [...b].sort((x, y) => order(x) - order(y)).map(renderLine));
  return `${ex.leadIn ? `${ex.leadIn}\n\n` : ""}\`\`\`json\n${body.join('\n')}\n\`\`\``;
}

/**
 * The body of an `examples METHOD` block: the examples filed under METHOD; for a
 * notification that no example sends or is filed under, the first recorded messages of
 * it (at most `EXCERPT`), taken from the example they came in.
 */
export function renderExamples(all: Example[], method: string): string {
  const mine = all.filter((e) => e.method === method);
  if (mine.length > 0) return mine.map(renderExample).join('\n\n');
  const isIt = (l: Line) => (l.notify as { method?: string } | undefined)?.method === method;
  const source = all.find((e) => e.lines.some(isIt));
  if (!source) return '';
  const lines = source.lines.filter(isIt).slice(0, EXCERPT);
  return `Sent during the \`${source.method}\` example from ${source.file}:${source.line}${lines.length > 1 ? ' (the first ones)' : ''}:\n\n\`\`\`json\n${lines.map(renderLine).join('\n')}\n\`\`\``;
}

const EXCERPT = 4;
