/**
 * Transcripts: a JSON array of steps, each pretty-printed (transcript-file.ts; format:
 * fixtures/transcripts/README.md). Parsing validates every step with zod, every
 * placeholder and capture path, and groups the steps into a *block*: a run of
 * consecutive sends followed by the expect/notify steps that answer them. Reports name
 * a step by the line it starts on.
 */
import * as z from 'zod';
import { Notifications } from '../../protocol/index.js';
import { parsePath, type PathSegment } from './json-path.js';
import { PlaceholderError, placeholdersIn } from './placeholder.js';
import { readEntries, TranscriptError } from './transcript-file.js';

export { TranscriptError };

const IdLabel = z.union([z.string().min(1), z.number().int()]);
const Comment = { comment: z.string().optional() };
const Message = z.strictObject({ method: z.string().min(1), params: z.unknown().optional() });
const CaptureName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'capture names are identifiers');

export const MetaLine = z.strictObject({
  meta: z.strictObject({
    description: z.string().optional(),
    /** Extra CLI arguments for the sidecar (after --stdio). */
    args: z.array(z.string()).optional(),
    timeoutMs: z.number().int().positive().optional(),
  }),
  ...Comment,
});
export const CommentLine = z.strictObject({ comment: z.string() });
export const SendLine = z.strictObject({
  send: Message,
  /** The JSON-RPC id to send (default: the next integer); expect lines may name it. */
  id: IdLabel.optional(),
  /** Force request/notification; by default a send is a notification iff the protocol declares it one (client → sidecar). */
  notification: z.boolean().optional(),
  /** Bind names to parts of the response: {"prov1": "$.result.provenance"}. */
  capture: z.record(CaptureName, z.string()).optional(),
  /** Send without waiting for the answer to the request before it (same block). */
  pipelined: z.boolean().optional(),
  ...Comment,
});
export const SendRawLine = z.strictObject({ sendRaw: z.string(), pipelined: z.boolean().optional(), ...Comment });
export const ExpectLine = z.strictObject({
  expect: z.union([z.strictObject({ result: z.unknown() }), z.strictObject({ error: z.unknown() })]),
  id: IdLabel.optional(),
  ...Comment,
});
export const NotifyLine = z.strictObject({ notify: Message, ...Comment });
export const SpawnLine = z.strictObject({ spawn: z.strictObject({ args: z.array(z.string()).optional() }), ...Comment });
export const ExpectExitLine = z.strictObject({ expectExit: z.union([z.number().int(), z.null()]), ...Comment });

const LINE_KINDS = {
  meta: MetaLine,
  send: SendLine,
  sendRaw: SendRawLine,
  expect: ExpectLine,
  notify: NotifyLine,
  spawn: SpawnLine,
  expectExit: ExpectExitLine,
  comment: CommentLine,
} as const;
type LineKind = keyof typeof LINE_KINDS;

export interface Send {
  line: number;
  /** The line as written (the recorder copies it verbatim). */
  source: Record<string, unknown>;
  /** null for sendRaw. */
  message: { method: string; params?: unknown } | null;
  raw?: string;
  label?: string | number;
  notification: boolean;
  capture: Array<{ name: string; path: PathSegment[]; text: string }>;
}

export interface Expect {
  line: number;
  source: Record<string, unknown>;
  response: { result: unknown } | { error: unknown };
  label?: string | number;
}

export interface Notify {
  line: number;
  source: Record<string, unknown>;
  message: { method: string; params?: unknown };
}

export type Step =
  | { kind: 'block'; line: number; sends: Send[]; expects: Expect[]; notifies: Notify[] }
  | { kind: 'spawn'; line: number; source: Record<string, unknown>; args?: string[] }
  | { kind: 'expectExit'; line: number; source: Record<string, unknown>; code: number | null }
  | { kind: 'comment'; line: number; source: Record<string, unknown> };

export interface Transcript {
  meta: z.infer<typeof MetaLine>['meta'];
  metaSource?: Record<string, unknown>;
  steps: Step[];
  /** Whether any line mentions a fixture placeholder (the replayer then builds the fixture repository). */
  usesFixture: boolean;
}

const CLIENT_NOTIFICATIONS = new Set(
  Object.values(Notifications)
    .filter((n) => n.direction === 'in')
    .map((n) => n.method),
);

function kindOf(obj: Record<string, unknown>, line: number): LineKind {
  const kinds = (Object.keys(LINE_KINDS) as LineKind[]).filter((k) => k !== 'comment' && k in obj);
  if (kinds.length === 1) return kinds[0]!;
  if (kinds.length === 0 && 'comment' in obj) return 'comment';
  throw new TranscriptError(line, kinds.length ? `one line, one step: found ${kinds.join(' and ')}` : `unknown step (want one of ${Object.keys(LINE_KINDS).join(', ')})`);
}

function checkPlaceholders(value: unknown, line: number, inSend: boolean): void {
  try {
    for (const p of placeholdersIn(value)) {
      if (inSend && p.name === null) throw new PlaceholderError(`${p.raw} cannot be sent: a send needs a named value`);
    }
  } catch (err) {
    if (err instanceof PlaceholderError) throw new TranscriptError(line, err.message);
    throw err;
  }
}

/**
 * Parse a transcript. A *script* (input of the recorder) may leave out expect lines:
 * whatever expect/notify lines it has are ignored by the recorder.
 */
export function parseTranscript(text: string, opts: { script?: boolean } = {}): Transcript {
  const transcript: Transcript = { meta: {}, steps: [], usesFixture: /\{\{fixture/.test(text) };
  let block: Extract<Step, { kind: 'block' }> | null = null;
  let sawStep = false;
  for (const { line: lineNo, value: obj } of readEntries(text)) {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new TranscriptError(lineNo, 'each step must be a JSON object');
    const source = obj as Record<string, unknown>;
    const kind = kindOf(source, lineNo);
    const parsed = LINE_KINDS[kind].safeParse(source);
    if (!parsed.success) throw new TranscriptError(lineNo, `invalid ${kind} line: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);

    switch (kind) {
      case 'comment':
        // Kept as a step so the recorder can copy it in place.
        transcript.steps.push({ kind: 'comment', line: lineNo, source });
        break;
      case 'meta':
        if (sawStep) throw new TranscriptError(lineNo, 'meta must be the first step');
        transcript.meta = (parsed.data as z.infer<typeof MetaLine>).meta;
        transcript.metaSource = source;
        break;
      case 'spawn':
        block = null;
        transcript.steps.push({ kind: 'spawn', line: lineNo, source, args: (parsed.data as z.infer<typeof SpawnLine>).spawn.args });
        break;
      case 'expectExit':
        block = null;
        transcript.steps.push({ kind: 'expectExit', line: lineNo, source, code: (parsed.data as z.infer<typeof ExpectExitLine>).expectExit });
        break;
      case 'send':
      case 'sendRaw': {
        // A request ends its block unless the next send is pipelined; notifications
        // (initialized, exit...) join the request that follows them.
        const send = toSend(kind, parsed.data, source, lineNo);
        const pipelined = (parsed.data as { pipelined?: boolean }).pipelined === true;
        if (
          block === null ||
          block.expects.length > 0 ||
          block.notifies.length > 0 ||
          (block.sends.some((x) => !x.notification) && !pipelined)
        ) {
          if (pipelined) throw new TranscriptError(lineNo, 'pipelined, but no request before it in this block');
          block = { kind: 'block', line: lineNo, sends: [], expects: [], notifies: [] };
          transcript.steps.push(block);
        }
        block.sends.push(send);
        break;
      }
      case 'expect':
      case 'notify': {
        if (block === null) throw new TranscriptError(lineNo, `${kind} without a send before it`);
        if (kind === 'expect') {
          const d = parsed.data as z.infer<typeof ExpectLine>;
          checkPlaceholders(d.expect, lineNo, false);
          block.expects.push({ line: lineNo, source, response: d.expect, label: d.id });
        } else {
          const d = parsed.data as z.infer<typeof NotifyLine>;
          checkPlaceholders(d.notify, lineNo, false);
          block.notifies.push({ line: lineNo, source, message: d.notify });
        }
        break;
      }
    }
    sawStep = true;
  }
  for (const step of transcript.steps) if (step.kind === 'block') checkBlock(step, opts.script === true);
  return transcript;
}

function toSend(kind: 'send' | 'sendRaw', data: unknown, source: Record<string, unknown>, line: number): Send {
  if (kind === 'sendRaw') {
    const d = data as z.infer<typeof SendRawLine>;
    return { line, source, message: null, raw: d.sendRaw, notification: false, capture: [] };
  }
  const d = data as z.infer<typeof SendLine>;
  checkPlaceholders(d.send, line, true);
  const notification = d.notification ?? CLIENT_NOTIFICATIONS.has(d.send.method);
  if (notification && (d.id !== undefined || d.capture)) throw new TranscriptError(line, 'a notification has no id and no response to capture from');
  const capture = Object.entries(d.capture ?? {}).map(([name, text]) => {
    try {
      return { name, path: parsePath(text), text };
    } catch (err) {
      throw new TranscriptError(line, (err as Error).message);
    }
  });
  return { line, source, message: d.send, label: d.id, notification, capture };
}

/** Every request has exactly one expect line; labels refer to sends of the same block. */
function checkBlock(block: Extract<Step, { kind: 'block' }>, script: boolean): void {
  const requests = block.sends.filter((s) => !s.notification);
  if (!script && block.expects.length !== requests.length) {
    throw new TranscriptError(block.line, `this block sends ${requests.length} request(s) but has ${block.expects.length} expect line(s)`);
  }
  const labels = new Set<string | number>();
  for (const s of requests) {
    if (s.label === undefined) continue;
    if (labels.has(s.label)) throw new TranscriptError(s.line, `id ${JSON.stringify(s.label)} is used twice in one block`);
    labels.add(s.label);
  }
  for (const e of block.expects) {
    if (e.label !== undefined && !labels.has(e.label)) throw new TranscriptError(e.line, `expect names id ${JSON.stringify(e.label)}, which no send of this block has`);
  }
}
