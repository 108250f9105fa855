/**
 * Readable reports of mismatches: one entry per transcript line that failed, and
 * under it each differing path with the expected and the actual value. Colored only
 * when the output is a terminal (and NO_COLOR is unset), so logs and pipes stay plain.
 */
import { MISSING, type Mismatch } from './matcher.js';

/** A transcript line that did not hold. */
export interface Failure {
  /** 1-based line of the transcript the expectation is on. */
  line: number;
  /** What was checked: "response to butler/put (line 12)", "notification butler/provenance"... */
  title: string;
  mismatches: Mismatch[];
  /** Free text when there is no value to compare (a timeout, an exited sidecar). */
  note?: string;
}

export interface Style {
  color: boolean;
}

const codes = { red: 31, green: 32, yellow: 33, cyan: 36, bold: 1, dim: 2 } as const;
type ColorName = keyof typeof codes;

function paint(style: Style, name: ColorName, s: string): string {
  return style.color ? `\x1b[${codes[name]}m${s}\x1b[0m` : s;
}

export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

const MAX_VALUE = 400;

/** Compact JSON, cut in the middle of long values so both ends stay visible. */
export function formatValue(v: unknown): string {
  if (v === MISSING) return '(missing)';
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length <= MAX_VALUE ? s : `${s.slice(0, MAX_VALUE / 2)} … ${s.slice(-MAX_VALUE / 4)} (${s.length} chars)`;
}

export function formatMismatch(m: Mismatch, style: Style, indent = '    '): string {
  const lines = [`${indent}${paint(style, 'cyan', m.path)}${m.reason ? paint(style, 'dim', `  (${m.reason})`) : ''}`];
  lines.push(`${indent}  ${paint(style, 'red', `- expected ${formatValue(m.expected)}`)}`);
  lines.push(`${indent}  ${paint(style, 'green', `+ actual   ${formatValue(m.actual)}`)}`);
  return lines.join('\n');
}

export function formatFailure(f: Failure, style: Style): string {
  const head = `  ${paint(style, 'bold', `line ${f.line}`)}: ${f.title}`;
  const note = f.note?.split('\n').map((l) => `    ${paint(style, 'yellow', l)}`).join('\n');
  const body = [note ?? null, ...f.mismatches.map((m) => formatMismatch(m, style))];
  return [head, ...body.filter((x): x is string => x !== null)].join('\n');
}

/** The report of one transcript: a PASS line, or FAIL with every failure under it. */
export function formatReport(file: string, failures: Failure[], style: Style, ms?: number): string {
  const took = ms === undefined ? '' : paint(style, 'dim', ` (${Math.round(ms)} ms)`);
  if (failures.length === 0) return `${paint(style, 'green', 'PASS')} ${file}${took}\n`;
  const n = failures.reduce((a, f) => a + Math.max(1, f.mismatches.length), 0);
  const head = `${paint(style, 'red', 'FAIL')} ${file}: ${n} mismatch${n === 1 ? '' : 'es'}${took}`;
  return `${[head, ...failures.map((f) => formatFailure(f, style))].join('\n')}\n`;
}
