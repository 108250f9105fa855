/**
 * The transcript file: one JSON array whose entries (one step each) are pretty-printed,
 * one member per line, so that a re-recorded value shows in a diff as the lines that
 * changed rather than as one rewritten 12 KB line. Reading keeps each entry's first line
 * number, which every report names.
 */

/** A transcript that cannot be read or is not valid, at a line of its file. */
export class TranscriptError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export interface Entry {
  /** 1-based line of the file on which the entry starts. */
  line: number;
  value: unknown;
}

/** The line (1-based) of a character offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 0x0a) line++;
  return line;
}

/** Offsets at which the top-level array's entries start (the text is known to be a JSON array). */
function entryOffsets(text: string): number[] {
  const starts: number[] = [];
  let depth = 0;
  let inString = false;
  let expectEntry = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
    if (depth === 1 && expectEntry && c !== ']') {
      starts.push(i);
      expectEntry = false;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      depth++;
      if (depth === 1) expectEntry = true;
    } else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 1) expectEntry = true;
  }
  return starts;
}

/** The entries of a transcript file, each with its first line. */
export function readEntries(text: string): Entry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message);
    throw new TranscriptError(at ? lineAt(text, Number(at[1])) : 1, `not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value)) throw new TranscriptError(1, 'a transcript is a JSON array of steps');
  const offsets = entryOffsets(text);
  // One pass over the text for all line numbers.
  const lines: number[] = [];
  let line = 1;
  let at = 0;
  for (const offset of offsets) {
    for (; at < offset; at++) if (text.charCodeAt(at) === 0x0a) line++;
    lines.push(line);
  }
  return value.map((v, i) => ({ line: lines[i] ?? 1, value: v }));
}

/** A transcript file's text: the entries pretty-printed (two spaces), in order. */
export function formatEntries(entries: readonly unknown[]): string {
  if (entries.length === 0) return '[]\n';
  const body = entries.map((e) => JSON.stringify(e, null, 2).replace(/^/gm, '  ')).join(',\n');
  return `[\n${body}\n]\n`;
}
