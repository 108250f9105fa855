/**
 * Provenance documents given as text (read from files), read for collect-and-transfer off
 * the caller's thread: parsed, normalised and their records walked on parser threads
 * (provenance-parser-worker.ts), which hand back only what the reading side uses
 * (ReadProvenance: ids, records, quantum and execution fields). The caller never parses or
 * serialises such a document: its text is what the registry stores.
 *
 * Why: on the caller's thread, JSON.parse of ~5 KB documents (or JSON.stringify of documents
 * given as objects), normalising them and collecting their garbage took about half of a large
 * collect, and that thread was the limit (the writer has its own). The threads run before the
 * writing starts (the quanta are written in quantum id order, which needs every document's
 * id), several at once; the caller meanwhile only receives their answers.
 *
 * Errors: a malformed document fails the whole call with the error reading it inline gives
 * (same kind, message and context), for the lowest-indexed malformed document, before
 * anything is written.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ButlerError, InvalidArgument, InvalidDatasetRef, RepositoryError, type ErrorContext } from '../model/errors.js';
import { readProvenanceText, type ReadProvenance } from './provenance-documents.js';
import { scriptBeside } from './bulk-writer-thread.js';

/** Below this many documents to read, parser threads cost more to start (~30-100 ms) than they save. */
export const PARSE_THREAD_MIN_ITEMS = 1000;
/** Documents per request to a parser thread. */
const CHUNK = 256;
/** Requests a parser thread has at once (one being read, one waiting). */
const IN_FLIGHT = 2;
/** Parser threads at most (the caller's thread mostly waits meanwhile). */
const MAX_THREADS = 4;

/** A request to a parser thread: the documents `start`, `start + 1`, ... (null: not to read). */
export interface ParseRequest {
  start: number;
  texts: Array<string | null>;
}

/** A domain error as it crosses threads. */
export interface ParseFailure {
  index: number;
  kind: string | null;
  name: string;
  message: string;
  context: ErrorContext;
}

/**
 * A parser thread's answer: every document of the request, packed (packProvenance) and
 * concatenated into one string (`ends[i]`: where document i's text ends; equal to the one
 * before for a document not read), with its quantum id (the reading order needs all of them
 * first), or the first that failed. One string per request, not one per document: a string
 * that large is allocated where the garbage collector never copies it, where ~2.7 KB strings
 * each, held until the reading side uses them, were copied by every young-generation
 * collection they survived (a seventh of the caller's thread in a large collect).
 */
export type ParseReply = { start: number; docs: string; ends: number[]; quantumIds: Array<string | null> } | { start: number; failed: ParseFailure };

/** The documents read, by item: packed (unpackProvenance) when read on a thread; and their quantum ids. */
export interface ReadTexts {
  docs: Array<ReadProvenance | string | undefined>;
  quantumIds: Array<string | null | undefined>;
}

export type ParseWhere = 'auto' | 'thread' | 'inline';

/** The failure of reading document `index`, to send to the caller's thread. */
export function parseFailure(err: unknown, index: number): ParseFailure {
  const e = err as Error & { kind?: unknown; context?: ErrorContext };
  return {
    index,
    kind: typeof e?.kind === 'string' ? e.kind : null,
    name: e?.name ?? 'Error',
    message: e?.message ?? String(err),
    context: e?.context !== undefined ? (JSON.parse(JSON.stringify(e.context)) as ErrorContext) : {},
  };
}

/** The error reading the document inline would have thrown. */
function failureError(f: ParseFailure): Error {
  if (f.kind === 'InvalidArgument') return new InvalidArgument(f.message, f.context);
  if (f.kind === 'InvalidDatasetRef') return new InvalidDatasetRef(f.message, f.context);
  if (f.kind !== null) return new ButlerError(f.kind as ButlerError['kind'], f.message, f.context);
  return new RepositoryError(`Provenance parser: ${f.name}: ${f.message}`, { details: { index: f.index } });
}

/**
 * Read the documents of `texts` that are given (by index; the others stay undefined), on
 * parser threads when there are at least PARSE_THREAD_MIN_ITEMS of them ('auto'), always
 * ('thread') or never ('inline'). `checkCancelled` is called as answers arrive; when it
 * throws, the threads are stopped and so is the call.
 */
export async function readProvenanceTexts(
  texts: ReadonlyArray<string | undefined>,
  opts: { where?: ParseWhere; checkCancelled?: (() => void) | undefined; script?: URL } = {},
): Promise<ReadTexts> {
  const out: ReadTexts = { docs: new Array<ReadProvenance | string | undefined>(texts.length), quantumIds: new Array<string | null | undefined>(texts.length) };
  let count = 0;
  for (const t of texts) if (t !== undefined) count++;
  const where = opts.where ?? 'auto';
  const script = where === 'inline' || (where === 'auto' && count < PARSE_THREAD_MIN_ITEMS) ? null : (opts.script ?? scriptBeside('provenance-parser-worker.js'));
  if (where === 'thread' && !script) throw new InvalidArgument('The provenance parser thread script is not built (run `npm run build`).');
  if (!script || count === 0) {
    for (let i = 0; i < texts.length; i++) {
      const t = texts[i];
      if (t === undefined) continue;
      const read = readProvenanceText(t, i);
      out.docs[i] = read;
      out.quantumIds[i] = read.quantumId;
    }
    return out;
  }
  const threads = Math.max(1, Math.min(MAX_THREADS, availableParallelism(), Math.ceil(count / CHUNK)));
  return new Promise((resolve, reject) => {
    const workers: Worker[] = [];
    /** Requests each thread has not answered yet. */
    const inFlight: number[] = [];
    let next = 0;
    let pending = 0;
    let failed: ParseFailure | null = null;
    let settled = false;
    const stop = (): void => {
      settled = true;
      for (const w of workers) void w.terminate();
    };
    const fail = (err: unknown): void => {
      if (settled) return;
      stop();
      reject(err);
    };
    // Requests go out in index order and none after a failure: once the ones in flight have
    // answered, every document before the failed one has been read, so the lowest-indexed
    // failure is the one reading them in order meets first.
    const feed = (t: number): void => {
      while (failed === null && next < texts.length && inFlight[t]! < IN_FLIGHT) {
        const start = next;
        const end = Math.min(texts.length, start + CHUNK);
        const req: ParseRequest = { start, texts: new Array<string | null>(end - start) };
        for (let i = start; i < end; i++) req.texts[i - start] = texts[i] ?? null;
        next = end;
        inFlight[t]!++;
        pending++;
        workers[t]!.postMessage(req);
      }
    };
    const done = (): void => {
      if (pending > 0 || settled) return;
      if (failed === null && next < texts.length) return;
      stop();
      if (failed !== null) reject(failureError(failed));
      else resolve(out);
    };
    for (let t = 0; t < threads; t++) {
      const w = new Worker(script);
      workers.push(w);
      inFlight.push(0);
      w.on('message', (reply: ParseReply) => {
        if (settled) return;
        inFlight[t]!--;
        pending--;
        if ('failed' in reply) {
          if (failed === null || reply.failed.index < failed.index) failed = reply.failed;
        } else {
          let from = 0;
          for (let i = 0; i < reply.ends.length; i++) {
            const to = reply.ends[i]!;
            // A slice of the reply's string: a small object pointing into it, not a copy.
            if (to > from) {
              out.docs[reply.start + i] = reply.docs.slice(from, to);
              out.quantumIds[reply.start + i] = reply.quantumIds[i];
            }
            from = to;
          }
        }
        try {
          opts.checkCancelled?.();
        } catch (err) {
          fail(err);
          return;
        }
        feed(t);
        done();
      });
      w.on('error', (err) => fail(new RepositoryError(`Provenance parser thread failed: ${err.message}`)));
      w.on('exit', (code) => fail(new RepositoryError(`Provenance parser thread stopped unexpectedly (exit code ${code}).`)));
      feed(t);
    }
  });
}
