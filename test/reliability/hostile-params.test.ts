/**
 * Issue 11, finding 7: every request method of the protocol, given hostile params (nesting
 * 5,000 deep, lone surrogates, NUL, over-long strings, numbers beyond 2^53, `__proto__` and
 * `constructor` members), answers a result or an error with a stable code and `data.kind`
 * (never InternalError, never a retryable kind: retrying hostile input cannot help), and the
 * sidecar keeps answering. Runs the built CLI over real pipes, as a host would.
 *
 * Params are derived from each method's own JSON Schema: a base with plausible values
 * (a real session, repository, keys, refs), then every field in turn replaced by every
 * hostile value, so hostile input reaches the domain code and not only the schema.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ErrorKinds, Requests, type ErrorKind } from '../../protocol/index.js';
import { RawClient, type Message } from '../e2e/raw-client.js';
import { ref } from '../e2e/fixture.js';

type Schema = Record<string, unknown> & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  additionalProperties?: Schema | boolean;
};

/** Raw JSON texts: some cannot be written by JSON.stringify (2^53 + 1, 1e400). */
const HOSTILE: ReadonlyArray<readonly [string, string]> = [
  ['nested 5,000 deep (arrays)', '['.repeat(5000) + ']'.repeat(5000)],
  ['nested 5,000 deep (objects)', '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)],
  ['a lone surrogate', '"x\\ud800y"'],
  ['NUL', '"a\\u0000b"'],
  ['an over-long string', JSON.stringify('a'.repeat(70_000))],
  ['an over-long path', JSON.stringify(`/${'p'.repeat(300)}/${'q'.repeat(5000)}`)],
  ['2^53 + 1', '9007199254740993'],
  ['1e400', '1e400'],
  ['-0', '-0'],
  ['__proto__ and constructor members', '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'],
];
const SENTINEL = '\u0001hostile\u0001';

let client: RawClient;
let dir: string;
let sessionId: string;
/** The session the walk names: the main one, or for session/close one it may close. */
let walkSession: string;
let root: string;
let inputFile: string;

/** A plausible value for a field, by its name (and schema), or undefined to derive one from the schema. */
function known(name: string | undefined, schema: Schema): unknown {
  const type = schema.type;
  switch (name) {
    case 'sessionId':
      return walkSession;
    case 'root':
      return root;
    case 'key':
      return 'hostile/k';
    case 'keys':
      return ['hostile/k'];
    case 'data':
      return type === 'string' ? 'AAEC' : undefined;
    case 'datas':
      return ['AAEC'];
    case 'metadata':
    case 'match':
      return { m: 1 };
    case 'metadatas':
      return [{ m: 1 }];
    case 'pattern':
      return 'hostile/*';
    case 'path':
    case 'destination':
      return inputFile;
    case 'datasetType':
      return type === 'string' || type === undefined
        ? 'hostile_type'
        : { name: 'hostile_type', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'] };
    case 'run':
      return 'hostile_run';
    case 'dataId':
      return { instrument: 'Cam1', detector: 1 };
    case 'ref':
      return ref('input', 1);
    case 'refs':
    case 'inputs':
      return [ref('input', 1)];
    case 'payload':
      return { encoding: 'json', value: { a: 1 } };
    case 'protocolVersion':
      return '1.0';
    case 'store':
      return { kind: 'memory' };
    case 'predicted':
      return { inputs: [], outputs: [], taskName: 'hostile' };
    default:
      return undefined;
  }
}

/** A value of `schema`; `all` also fills optional properties. */
function sample(schema: Schema, name: string | undefined, all: boolean): unknown {
  const k = known(name, schema);
  if (k !== undefined) return k;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const options = schema.anyOf ?? schema.oneOf;
  if (options) return sample(options[0]!, name, all);
  if (schema.allOf) return sample(schema.allOf[0]!, name, all);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const required = new Set(schema.required ?? []);
      for (const [prop, sub] of Object.entries(schema.properties ?? {})) {
        if (all || required.has(prop)) out[prop] = sample(sub, prop, all);
      }
      return out;
    }
    case 'array':
      return schema.items ? [sample(schema.items, name, all)] : [];
    case 'string':
      return 'x';
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return {};
  }
}

/** Every place in `value` (containers and leaves), as paths of keys. */
function places(value: unknown, path: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = path.length ? [path] : [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...places(v, [...path, i])));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...places(v, [...path, k]));
  }
  return out;
}

function replaced(base: unknown, path: Array<string | number>, raw: string): string {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let at = copy;
  for (const p of path.slice(0, -1)) at = at[p] as Record<string | number, unknown>;
  at[path[path.length - 1]!] = SENTINEL;
  return JSON.stringify(copy).replace(JSON.stringify(SENTINEL), raw);
}

/** The hostile params texts of one method. */
function hostileParams(method: string): string[] {
  const def = (Requests as Record<string, { params: z.ZodType }>)[method]!;
  const schema = z.toJSONSchema(def.params, { io: 'input', unrepresentable: 'any' }) as Schema;
  const out: string[] = HOSTILE.map(([, raw]) => raw);
  for (const all of [false, true]) {
    const base = sample(schema, undefined, all);
    if (base === null || typeof base !== 'object' || Array.isArray(base)) continue;
    const text = JSON.stringify(base);
    out.push(text.length > 2 ? `{"__proto__":{"polluted":true},${text.slice(1)}` : '{"__proto__":{"polluted":true}}');
    for (const p of places(base)) for (const [, raw] of HOSTILE) out.push(replaced(base, p, raw));
  }
  return [...new Set(out)];
}

/** Sends the request as raw text (hostile numbers cannot go through JSON.stringify). */
let nextId = 100_000;
async function openSession(): Promise<string> {
  const opened = await client.call('session/open', { predicted: { inputs: [], outputs: [], taskName: 'hostile' }, store: { kind: 'memory' }, notifications: [] });
  return (opened.result as { sessionId: string }).sessionId;
}

async function send(method: string, paramsText: string): Promise<Message> {
  const id = nextId++;
  const body = Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${paramsText}}`, 'utf8');
  client.sendRaw(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]));
  return client.response(id, 60_000);
}

/** What is wrong with an answer, or undefined when it is a result or a well-formed, non-retryable error. */
function problem(m: Message): string | undefined {
  if (m.error === undefined) return undefined;
  const { code, data } = m.error;
  const kind = data?.kind as ErrorKind | undefined;
  if (typeof code !== 'number') return 'no numeric code';
  if (kind === undefined || !(kind in ErrorKinds)) return `no known data.kind (${String(kind)}): ${m.error.message.slice(0, 200)}`;
  if (ErrorKinds[kind].code !== code) return `code ${code} is not the code of ${kind}`;
  if (kind === 'InternalError') return `InternalError: ${m.error.message.slice(0, 200)}`;
  if (data?.retryable !== false) return `${kind} is marked retryable: ${m.error.message.slice(0, 200)}`;
  return undefined;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qb-hostile-'));
  root = join(dir, 'repo');
  inputFile = join(dir, 'input.bin');
  writeFileSync(inputFile, 'bytes');
  // Relative hostile paths land in the sidecar's working directory: a temp one.
  client = new RawClient(['--stdio'], { cwd: dir });
  await client.initialize();
  // Verbose tracing serialises every request's params: hostile ones included.
  client.notify('$/setTrace', { value: 'verbose' });
  sessionId = await openSession();
  expect((await client.call('repository/create', { root })).error).toBeUndefined();
  const registered = await client.call('repository/registerDatasetType', {
    root,
    datasetType: { name: 'hostile_type', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'] },
  });
  expect(registered.error).toBeUndefined();
});

afterAll(async () => {
  client?.kill();
  await client?.exit;
  rmSync(dir, { recursive: true, force: true });
});

describe('hostile params', () => {
  // `shutdown` is walked last, on its own: accepting it ends the sidecar's service.
  const methods = Object.keys(Requests).filter((m) => m !== 'shutdown');

  it.each(methods)('%s answers a result or a stable, non-retryable error', { timeout: 120_000 }, async (method) => {
    const failures: string[] = [];
    walkSession = method === 'session/close' ? await openSession() : sessionId;
    const texts = hostileParams(method);
    const inFlight = 8;
    for (let i = 0; i < texts.length; i += inFlight) {
      const batch = texts.slice(i, i + inFlight);
      const answers = await Promise.all(batch.map((t) => send(method, t)));
      answers.forEach((m, j) => {
        const p = problem(m);
        if (p) failures.push(`${p}  <- params ${batch[j]!.slice(0, 160)}`);
      });
    }
    expect(failures).toEqual([]);
    // Still serving: a ping, and a store round trip on the session.
    expect((await client.call('server/ping', {})).error).toBeUndefined();
    const set = await client.call('store/set', { sessionId, key: 'alive/k', data: 'AA==', metadata: { ok: true } });
    expect(set.error).toBeUndefined();
    expect((await client.call('store/getMetadata', { sessionId, key: 'alive/k' })).result).toEqual({ metadata: { ok: true } });
  });

  it('shutdown answers a result or a stable error, then only exit is accepted', async () => {
    const failures: string[] = [];
    for (const text of hostileParams('shutdown')) {
      const p = problem(await send('shutdown', text));
      if (p) failures.push(`${p}  <- params ${text.slice(0, 160)}`);
    }
    expect(failures).toEqual([]);
    const ping = await client.call('server/ping', {});
    expect(ping.error === undefined || ping.error.data?.kind === 'ShutdownInProgress').toBe(true);
  });
});
