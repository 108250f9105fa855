/**
 * Records real exchanges with the built CLI for protocol/README.md: spawns
 * `dist/src/cli.js --stdio` with raw Content-Length framing, runs a fixed set of
 * scenarios (lifecycle and framing, butler, limits, cancellation, store, and a
 * repository made with repository/create: sessions on it, collect-and-transfer,
 * lineage and provenance exports), and writes every message (both directions, in
 * order) per scenario.
 *
 *   npx tsc -p tsconfig.json && node dist/scripts/record-examples.js [OUT_DIR]
 *
 * Writes OUT_DIR/examples.json (raw messages) and OUT_DIR/examples.md (the same,
 * formatted as README snippets). Prints nothing on stdout; progress goes to stderr.
 * OUT_DIR defaults to a fresh temporary directory, which also holds the scratch
 * files the scenarios use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { FrameDecoder, encodeFrame } from '../src/util/framing.js';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeDatasetId } from '../src/model/dataset-id.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface Message {
  jsonrpc: '2.0';
  id?: number | string | null;
  method?: string;
  params?: Json;
  result?: Json;
  error?: { code: number; message: string; data?: Json };
}

interface Logged {
  dir: '-->' | '<--';
  msg: Message | string;
  /** The body as received, where JSON.parse loses something (an id echoed as sent, e.g. 1e400). */
  raw?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '..', 'src', 'cli.js');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`${s}\n`);

class Sidecar {
  readonly child: ChildProcess;
  readonly log: Logged[] = [];
  readonly exit: Promise<number | null>;
  private nextId = 1;
  private waiters: Array<() => void> = [];
  private readonly decoder = new FrameDecoder((body) => {
    const raw = body.toString('utf8');
    const msg = JSON.parse(raw) as Message;
    this.log.push(JSON.stringify(msg) === raw ? { dir: '<--', msg } : { dir: '<--', msg, raw });
    for (const w of this.waiters.splice(0)) w();
  });

  constructor(args: string[] = []) {
    this.child = spawn(process.execPath, [CLI, '--stdio', ...args], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.exit = new Promise((r) => this.child.once('exit', (code) => r(code)));
    this.child.stdout!.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    this.child.stdin!.on('error', () => {});
  }

  sendBody(body: string): void {
    this.log.push({ dir: '-->', msg: body });
    this.child.stdin!.write(encodeFrame(body));
  }

  /** Raw bytes, header included; logged as a JSON string so CR/LF stay visible. */
  sendRaw(raw: string): void {
    this.log.push({ dir: '-->', msg: JSON.stringify(raw) });
    this.child.stdin!.write(raw);
  }

  send(msg: Omit<Message, 'jsonrpc'>): void {
    const full = { jsonrpc: '2.0' as const, ...msg };
    this.log.push({ dir: '-->', msg: full });
    this.child.stdin!.write(encodeFrame(JSON.stringify(full)));
  }

  request(method: string, params?: Json): number {
    const id = this.nextId++;
    this.send(params === undefined ? { id, method } : { id, method, params });
    return id;
  }

  notify(method: string, params?: Json): void {
    this.send(params === undefined ? { method } : { method, params });
  }

  async waitFor(pred: (m: Message) => boolean, timeoutMs = 30000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.log.find((l) => l.dir === '<--' && typeof l.msg !== 'string' && pred(l.msg));
      if (hit) return hit.msg as Message;
      if (Date.now() > deadline) throw new Error('timed out waiting for a message');
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  response(id: number): Promise<Message> {
    return this.waitFor((m) => m.id === id && m.method === undefined);
  }

  async call(method: string, params?: Json): Promise<Message> {
    const res = await this.response(this.request(method, params));
    if (res.error) log(`  ${method}: error ${res.error.code} ${res.error.message}`);
    return res;
  }

  /** call(), but throws on an error response (for setup steps). */
  async ok(method: string, params?: Json): Promise<Json> {
    const res = await this.call(method, params);
    if (res.error) throw new Error(`${method} failed: ${res.error.message}`);
    return res.result ?? null;
  }

  async initialize(extra: Record<string, Json> = {}): Promise<Message> {
    const res = await this.call('initialize', { protocolVersion: '1.0', processId: null, capabilities: {}, ...extra });
    this.notify('initialized', {});
    return res;
  }

  async close(): Promise<number | null> {
    if (this.child.exitCode === null) {
      await this.call('shutdown');
      this.notify('exit');
    }
    return this.exit;
  }
}

// ---- recording -----------------------------------------------------------------------

const examples: Record<string, Logged[]> = {};

async function record(name: string, sc: Sidecar, fn: () => Promise<unknown>, settleMs = 60): Promise<void> {
  const start = sc.log.length;
  await fn();
  await sleep(settleMs);
  examples[name] = sc.log.slice(start);
  log(`recorded ${name} (${examples[name]!.length} messages)`);
}

// ---- fixture: Cam1, detectors 1-3, run "u/demo/run1" -------------------------------------

const RUN = 'u/demo/run1';
const INPUT_RUN = 'raw/all';

function dsType(name: string, storageClass: string, dimensions: string[]) {
  return { name, storageClass, dimensions, isCalibration: false };
}

function fullRef(name: string, storageClass: string, dataId: Record<string, string | number>, run: string) {
  const dims = Object.keys(dataId);
  return {
    id: makeDatasetId('DATAID_TYPE_RUN', name, dataId, dims, run),
    datasetType: dsType(name, storageClass, dims),
    dataId: { dataId, records: null },
    run,
    component: null,
  };
}
type FullRef = ReturnType<typeof fullRef>;

const config = fullRef('isr_config', 'StructuredDataDict', {}, RUN);
const raw1 = fullRef('raw', 'StructuredDataDict', { instrument: 'Cam1', detector: 1 }, INPUT_RUN);
const raw2 = fullRef('raw', 'StructuredDataDict', { instrument: 'Cam1', detector: 2 }, INPUT_RUN);
const raw3 = fullRef('raw', 'StructuredDataDict', { instrument: 'Cam1', detector: 3 }, INPUT_RUN);
const catalog = fullRef('ref_cat', 'Table', { instrument: 'Cam1' }, INPUT_RUN);
const calexp1 = fullRef('calexp', 'StructuredDataDict', { instrument: 'Cam1', detector: 1 }, RUN);
const calexp2 = fullRef('calexp', 'StructuredDataDict', { instrument: 'Cam1', detector: 2 }, RUN);
const summary = fullRef('summary', 'Text', { instrument: 'Cam1' }, RUN);
const thumb = fullRef('thumbnail', 'Bytes', { instrument: 'Cam1', detector: 1 }, RUN);

/** The compact form: dataset type by name, plain data ID. */
function compact(r: FullRef) {
  return { id: r.id, datasetType: r.datasetType.name, storageClass: r.datasetType.storageClass, dataId: r.dataId.dataId, run: r.run };
}

/** daf_butler SerializedQuantum: nested refs with datasetType null, grouped by type name. */
function serializedQuantum(taskName: string, init: FullRef[], inputs: FullRef[], outputs: FullRef[]) {
  const mapping: Record<string, Json> = {};
  for (const r of [...init, ...inputs, ...outputs]) mapping[r.datasetType.name] = r.datasetType;
  const nested = (r: FullRef) => [{ ...r, datasetType: null }, []] as Json;
  const group = (rs: FullRef[]) => {
    const out: Record<string, Json[]> = {};
    for (const r of rs) (out[r.datasetType.name] ??= []).push(nested(r));
    return out;
  };
  return {
    taskName,
    dataId: { dataId: { instrument: 'Cam1' }, records: null },
    datasetTypeMapping: mapping,
    initInputs: Object.fromEntries(init.map((r) => [r.datasetType.name, nested(r)])),
    inputs: group(inputs),
    outputs: group(outputs),
    dimensionRecords: null,
    datastoreRecords: null,
  } as Json;
}

// ---- scenarios -------------------------------------------------------------------------

async function lifecycle(dir: string): Promise<void> {
  const a = new Sidecar();
  await record('before-initialize', a, async () => {
    await a.call('server/ping');
  });
  await record('initialize', a, async () => {
    await a.call('initialize', {
      protocolVersion: '1.0',
      processId: null,
      clientInfo: { name: 'example-host', version: '0.3.1' },
      capabilities: { workDoneProgress: true, logMessages: true, payloadEncodings: ['json', 'text', 'base64', 'file'] },
      initializationOptions: { logLevel: 'warning' },
      trace: 'off',
    });
    a.notify('initialized', {});
  });
  await record('initialize-again', a, () => a.call('initialize', { protocolVersion: '1.0' }));
  await record('ping', a, () => a.call('server/ping'));
  await record('unknown-method', a, () => a.call('butler/teleport', {}));
  await record('invalid-params', a, () => a.call('butler/get', { sessionId: 7 }));
  await record('positional-params', a, () => a.call('server/stats', [1, 2]));
  await record('parse-error', a, async () => {
    a.sendBody('{"jsonrpc":"2.0","id":99,"method":');
    a.sendBody('{"jsonrpc":"2.0","method":"server/ping","params":');
    await a.call('server/ping');
  });
  await record('exact-ids', a, async () => {
    a.sendBody('{"jsonrpc":"2.0","id":9007199254740993,"method":"server/ping"}');
    a.sendBody('{"jsonrpc":"2.0","id":1e400,"method":"server/ping"}');
    a.sendBody('{"jsonrpc":"2.0","id":-0,"method":"server/ping"}');
    await a.call('server/ping');
  });
  await record('set-trace', a, async () => {
    a.notify('$/setTrace', { value: 'verbose' });
    await a.call('server/ping');
    a.notify('$/setTrace', { value: 'off' });
  });
  await record('log-message', a, async () => {
    const open = await a.call('session/open', {
      sessionId: 'warn-demo',
      predicted: { inputs: [compact(raw1)], outputs: [] },
    });
    void open;
    await a.call('session/close', { sessionId: 'warn-demo' });
  });
  await record('stats', a, () => a.call('server/stats'));
  await record('shutdown', a, async () => {
    await a.call('shutdown');
    await a.call('server/ping');
    a.notify('exit');
  });
  log(`lifecycle sidecar exit code: ${await a.exit}`);
  examples['exit-code-after-shutdown'] = [{ dir: '<--', msg: `exit code ${await a.exit}` }];

  const b = new Sidecar();
  await record('unsupported-version', b, async () => {
    await b.call('initialize', { protocolVersion: '2.0', capabilities: {} });
    await b.call('initialize', { protocolVersion: '1.3', capabilities: {} });
  });
  b.notify('exit');
  examples['exit-code-without-shutdown'] = [{ dir: '<--', msg: `exit code ${await b.exit}` }];

  // Methods without params accept an absent params, null or {} (exit and shutdown included).
  const d = new Sidecar();
  await d.initialize();
  await record('no-params', d, async () => {
    await d.call('server/ping', null);
    await d.call('session/list', {});
    await d.call('shutdown', {});
    d.notify('exit', {});
  });
  examples['exit-code-no-params'] = [{ dir: '<--', msg: `exit code ${await d.exit}` }];

  // JSON that is not a JSON-RPC message: -32600 InvalidRequest, and the connection goes on.
  const f = new Sidecar();
  await f.initialize();
  await record('invalid-request', f, async () => {
    f.sendBody('[{"jsonrpc":"2.0","id":40,"method":"server/ping"}]');
    f.sendBody('{"jsonrpc":"2.0","id":41}');
    await f.call('server/ping');
  });
  f.notify('exit');
  await f.exit;

  // A header without Content-Length: -32700 FramingError, then the process exits with code 1.
  const e = new Sidecar();
  await e.initialize();
  await record('broken-header', e, async () => {
    e.sendRaw('Garbage: 1\r\n\r\n{}');
    await e.waitFor((m) => m.id === null && m.error !== undefined);
  });
  examples['exit-code-broken-header'] = [{ dir: '<--', msg: `exit code ${await e.exit}` }];

  // A Content-Length that is not only digits: the same.
  const g = new Sidecar();
  await g.initialize();
  await record('bad-content-length', g, async () => {
    g.sendRaw('Content-Length: 12abc\r\n\r\n{"jsonrpc":"2.0","id":5,"method":"server/ping"}');
    await g.waitFor((m) => m.id === null && m.error !== undefined);
  });
  await g.exit;

  // A message over --max-message-bytes: skipped unread, answered with its id; the stream goes on.
  const h = new Sidecar(['--max-message-bytes=128']);
  await h.initialize();
  await record('message-too-large', h, async () => {
    h.sendBody(`{"jsonrpc":"2.0","id":7,"method":"butler/put","params":{"sessionId":"s1","ref":{"id":"…"},"payload":{"encoding":"base64","data":"${'A'.repeat(120)}"}}}`);
    await h.call('server/ping');
  });
  h.notify('exit');
  await h.exit;

  // Not recorded: requests written just before stdin closes. The sidecar answers those
  // already dispatched, but the last few can still be dropped (protocol/README.md §2),
  // so such a recording would not be reproducible.

  void dir;
}

async function butler(dir: string): Promise<void> {
  const c = new Sidecar();
  await c.initialize({ capabilities: { workDoneProgress: true, logMessages: true } });

  // Seed the inputs into the named datastore "repo" through a session whose outputs they are.
  await record('open-predicted-seed', c, () =>
    c.call('session/open', {
      sessionId: 'seed',
      predicted: { inputs: [], outputs: [compact(raw1), compact(raw2), compact(catalog), compact(config)], taskName: 'seed' },
      datastore: { kind: 'memory', name: 'repo' },
      notifications: [],
    }),
  );
  await c.ok('butler/put', { sessionId: 'seed', ref: { id: raw1.id }, payload: { encoding: 'json', value: { detector: 1, counts: [10, 12, 9] } } });
  await c.ok('butler/put', { sessionId: 'seed', ref: { id: raw2.id }, payload: { encoding: 'json', value: { detector: 2, counts: [11, 8, 14] } } });
  await c.ok('butler/put', {
    sessionId: 'seed',
    ref: { id: catalog.id },
    payload: { encoding: 'json', value: { columns: { ra: [10.5, 10.7, 11.1], dec: [-4.2, -4.0, -3.9], mag: [17.2, 18.9, 16.4] } } },
  });
  await c.ok('butler/put', { sessionId: 'seed', ref: { id: config.id }, payload: { encoding: 'json', value: { doBias: true, threshold: 5 } } });
  await c.ok('session/close', { sessionId: 'seed' });

  const quantum = serializedQuantum('lsst.ip.isr.IsrTask', [config], [raw1, raw2, raw3, catalog], [calexp1, calexp2, summary, thumb]);
  await record('open-quantum', c, () =>
    c.call('session/open', {
      sessionId: 'q1',
      quantumId: '0f6c1f0e-6a57-4c43-9d1a-3d5f2b7c9e01',
      quantum,
      datastore: { kind: 'memory', name: 'repo' },
      notifications: ['provenance', 'progress'],
    }),
  );
  await record('open-again', c, () =>
    c.call('session/open', {
      sessionId: 'q1',
      quantumId: '0f6c1f0e-6a57-4c43-9d1a-3d5f2b7c9e01',
      quantum,
      datastore: { kind: 'memory', name: 'repo' },
      notifications: ['provenance', 'progress'],
    }),
  );
  await record('open-conflict', c, () =>
    c.call('session/open', { sessionId: 'q1', quantum, datastore: { kind: 'memory', name: 'repo' } }),
  );
  await record('open-neither', c, () => c.call('session/open', { sessionId: 'bad' }));
  await record('list', c, () => c.call('session/list'));

  const s = { sessionId: 'q1' };
  await record('storedMany', c, () => c.call('butler/storedMany', { ...s, refs: [{ id: config.id }, { id: raw1.id }, { id: raw2.id }, { id: raw3.id }, { id: catalog.id }] }));
  await record('stored-full-ref', c, () => c.call('butler/stored', { ...s, ref: raw1 }));
  await record('stored-not-predicted', c, () =>
    c.call('butler/stored', { ...s, ref: compact(fullRef('raw', 'StructuredDataDict', { instrument: 'Cam1', detector: 9 }, INPUT_RUN)) }),
  );
  await record('get-id', c, () => c.call('butler/get', { ...s, ref: { id: raw1.id } }));
  await record('get-compact-params', c, () => c.call('butler/get', { ...s, ref: compact(catalog), parameters: { columns: ['ra', 'dec'], rows: [0, 2] } }));
  await record('get-component', c, () => c.call('butler/get', { ...s, ref: { id: catalog.id }, component: 'rowCount' }));
  await record('get-storage-class', c, () => c.call('butler/get', { ...s, ref: { id: catalog.id }, storageClass: 'StructuredDataList' }));
  await record('get-base64', c, () => c.call('butler/get', { ...s, ref: { id: config.id }, as: 'base64' }));
  await record('get-file', c, () => c.call('butler/get', { ...s, ref: { id: raw1.id }, as: 'file', destination: join(dir, 'raw1.json') }));
  await record('get-missing', c, () => c.call('butler/get', { ...s, ref: { id: raw3.id } }));
  await record('get-unknown-id', c, () => c.call('butler/get', { ...s, ref: { id: '6a1d1f44-58bf-4f7c-b2b1-0e5fb1c1a0aa' } }));
  await record('get-unknown-param', c, () => c.call('butler/get', { ...s, ref: { id: catalog.id }, parameters: { nope: 1 } }));
  await record('get-unknown-component', c, () => c.call('butler/get', { ...s, ref: { id: catalog.id }, component: 'nope' }));
  await record('get-bad-storage-class', c, () => c.call('butler/get', { ...s, ref: { id: catalog.id }, storageClass: 'Bytes' }));
  await record('get-mismatch', c, () => c.call('butler/get', { ...s, ref: { ...raw1, run: 'other/run' } }));
  await record('get-bad-id', c, () => c.call('butler/get', { ...s, ref: { id: 'not-a-uuid' } }));
  await record('get-unknown-type', c, () =>
    c.call('butler/get', { ...s, ref: { id: '6a1d1f44-58bf-4f7c-b2b1-0e5fb1c1a0aa', datasetType: 'flat', dataId: { instrument: 'Cam1' }, run: 'calib' } }),
  );

  let handle = '';
  await record('getDeferred', c, async () => {
    const res = await c.call('butler/getDeferred', { ...s, ref: { id: raw2.id } });
    handle = (res.result as { handle: string }).handle;
  });
  await record('loadDeferred', c, () => c.call('butler/loadDeferred', { ...s, handle }));
  await record('loadDeferred-unknown', c, () => c.call('butler/loadDeferred', { ...s, handle: 'f00dfeed-0000-4000-8000-000000000000' }));
  await record('markInputUnused', c, () => c.call('butler/markInputUnused', { ...s, ref: { id: catalog.id }, reason: 'no stars passed the cut' }));
  await record('markInputUnused-output', c, () => c.call('butler/markInputUnused', { ...s, ref: { id: calexp1.id } }));

  await record('getURIs-predict', c, () => c.call('butler/getURIs', { ...s, ref: { id: calexp1.id }, predict: true }));
  await record('getURIs-missing', c, () => c.call('butler/getURIs', { ...s, ref: { id: calexp1.id } }));
  await record('put-json-progress', c, () =>
    c.call('butler/put', { ...s, ref: calexp1, payload: { encoding: 'json', value: { detector: 1, mean: 10.33 } }, workDoneToken: 'put-1' }),
  );
  await record('put-again', c, () => c.call('butler/put', { ...s, ref: { id: calexp1.id }, payload: { encoding: 'json', value: { detector: 1, mean: 10.33 } } }));
  await record('put-different', c, () => c.call('butler/put', { ...s, ref: { id: calexp1.id }, payload: { encoding: 'json', value: { detector: 1, mean: 99 } } }));
  await record('put-not-predicted', c, () => c.call('butler/put', { ...s, ref: raw1, payload: { encoding: 'json', value: {} } }));
  await record('put-mismatch', c, () =>
    c.call('butler/put', { ...s, ref: { ...calexp2, dataId: { dataId: { instrument: 'Cam1', detector: 7 }, records: null } }, payload: { encoding: 'json', value: {} } }),
  );
  await record('put-wrong-value', c, () => c.call('butler/put', { ...s, ref: { id: calexp2.id }, payload: { encoding: 'json', value: [1, 2] } }));
  await record('put-text', c, () => c.call('butler/put', { ...s, ref: compact(summary), payload: { encoding: 'text', text: 'detectors 1-2 processed\n' } }));
  await record('put-base64', c, () =>
    c.call('butler/put', { ...s, ref: { id: thumb.id }, payload: { encoding: 'base64', data: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).toString('base64') } }),
  );
  const src = join(dir, 'calexp2.json');
  writeFileSync(src, JSON.stringify({ detector: 2, mean: 11.0 }));
  await record('put-file', c, () => c.call('butler/put', { ...s, ref: { id: calexp2.id }, payload: { encoding: 'file', path: src, mode: 'move' } }));
  await record('put-relative-path', c, () => c.call('butler/put', { ...s, ref: { id: calexp2.id }, payload: { encoding: 'file', path: 'calexp2.json' } }));
  await record('get-output-text', c, () => c.call('butler/get', { ...s, ref: { id: summary.id } }));
  await record('get-bytes-range', c, () => c.call('butler/get', { ...s, ref: { id: thumb.id }, parameters: { start: 1, end: 4 } }));
  await record('getURIs', c, () => c.call('butler/getURIs', { ...s, ref: { id: calexp1.id } }));

  await record('prune-defaults', c, () => c.call('butler/pruneDatasets', { ...s, refs: [{ id: calexp2.id }] }));
  await record('prune-unstore', c, () => c.call('butler/pruneDatasets', { ...s, refs: [{ id: calexp2.id }], disassociate: false, unstore: true }));
  await record('prune-input', c, () => c.call('butler/pruneDatasets', { ...s, refs: [{ id: raw1.id }], disassociate: false, unstore: true }));
  await record('prune-purge', c, () => c.call('butler/pruneDatasets', { ...s, refs: [{ id: thumb.id }], purge: true, unstore: true }));
  await record('metrics', c, () => c.call('butler/metrics', { ...s, reset: false }));
  await record('exportPredictedRecords-memory', c, () => c.call('butler/exportPredictedRecords', { ...s, refs: [{ id: calexp1.id }] }));
  await record('provenance-daf', c, () => c.call('butler/extractProvenance', { ...s, format: 'daf_butler' }));
  await record('provenance-native', c, () => c.call('butler/extractProvenance', { ...s }));
  await record('close', c, () => c.call('session/close', { ...s }));
  await record('close-again', c, () => c.call('session/close', { ...s }));
  await record('after-close', c, () => c.call('butler/get', { ...s, ref: { id: raw1.id } }));

  // Diagnostics: a deferred input that is missing, one never loaded, inputs never checked.
  await record('open-q2', c, () =>
    c.call('session/open', {
      sessionId: 'q2',
      predicted: {
        inputs: [compact(raw1), compact(raw2), compact(raw3)],
        outputs: [compact(calexp1)],
        taskName: 'lsst.ip.isr.IsrTask',
        dataId: { instrument: 'Cam1' },
      },
      datastore: { kind: 'memory', name: 'repo' },
      strictDeferred: true,
    }),
  );
  // ref_cat exists in the shared datastore, but q2 did not predict it.
  await record('get-not-predicted', c, () => c.call('butler/get', { sessionId: 'q2', ref: compact(catalog) }));
  let h3 = '';
  await record('q2-deferred-missing', c, async () => {
    h3 = ((await c.call('butler/getDeferred', { sessionId: 'q2', ref: { id: raw3.id } })).result as { handle: string }).handle;
    await c.call('butler/loadDeferred', { sessionId: 'q2', handle: h3 });
  });
  await record('q2-deferred-unloaded', c, () => c.call('butler/getDeferred', { sessionId: 'q2', ref: { id: raw2.id } }));
  await record('q2-close', c, () => c.call('session/close', { sessionId: 'q2' }));
  log(`butler sidecar exit code: ${await c.close()}`);
}

async function limits(dir: string): Promise<void> {
  const c = new Sidecar(['--max-inline-bytes=64', '--max-sessions=1']);
  await c.initialize();
  await c.ok('session/open', { sessionId: 'small', predicted: { inputs: [], outputs: [compact(thumb)] } });
  await record('too-many-sessions', c, () => c.call('session/open', { sessionId: 'second', predicted: { inputs: [], outputs: [] } }));
  await record('put-too-large', c, () =>
    c.call('butler/put', { sessionId: 'small', ref: { id: thumb.id }, payload: { encoding: 'base64', data: Buffer.alloc(96, 1).toString('base64') } }),
  );
  const big = join(dir, 'thumb.bin');
  writeFileSync(big, Buffer.alloc(96, 1));
  await c.ok('butler/put', { sessionId: 'small', ref: { id: thumb.id }, payload: { encoding: 'file', path: big } });
  await record('get-too-large', c, () => c.call('butler/get', { sessionId: 'small', ref: { id: thumb.id } }));
  await record('get-to-file', c, () => c.call('butler/get', { sessionId: 'small', ref: { id: thumb.id }, as: 'file', destination: join(dir, 'thumb-out.bin') }));
  // JSON values are measured too (the UTF-8 size of their JSON text).
  await c.ok('session/close', { sessionId: 'small' });
  await c.ok('session/open', { sessionId: 'small2', predicted: { inputs: [], outputs: [compact(calexp1)] } });
  await record('put-json-too-large', c, () =>
    c.call('butler/put', { sessionId: 'small2', ref: { id: calexp1.id }, payload: { encoding: 'json', value: { detector: 1, note: 'x'.repeat(80) } } }),
  );
  log(`limits sidecar exit code: ${await c.close()}`);
}

async function cancellation(dir: string): Promise<void> {
  const c = new Sidecar();
  await c.initialize();
  await c.ok('session/open', { sessionId: 'big', predicted: { inputs: [], outputs: [compact(thumb)] }, notifications: [] });
  const src = join(dir, 'big.bin');
  writeFileSync(src, Buffer.alloc(64 * 1024 * 1024, 3));
  await record('cancel', c, async () => {
    const slow = c.request('butler/put', { sessionId: 'big', ref: { id: thumb.id }, payload: { encoding: 'file', path: src } });
    const queued = c.request('butler/stored', { sessionId: 'big', ref: { id: thumb.id } });
    c.notify('$/cancelRequest', { id: queued });
    await c.response(queued);
    await c.response(slow);
  });
  log(`cancellation sidecar exit code: ${await c.close()}`);
}

async function store(dir: string): Promise<void> {
  const c = new Sidecar();
  await c.initialize();
  await record('open-store-session', c, () =>
    c.call('session/open', {
      sessionId: 'kv',
      predicted: { inputs: [], outputs: [] },
      store: { kind: 'sqlite', path: join(dir, 'kv.db') },
      notifications: ['store'],
    }),
  );
  const s = { sessionId: 'kv' };
  const b64 = (t: string) => Buffer.from(t).toString('base64');
  await record('store/info', c, () => c.call('store/info', s));
  await record('store/set', c, () => c.call('store/set', { ...s, key: 'calib/bias/1', data: b64('bias-1'), metadata: { kind: 'bias', detector: 1 } }));
  await record('store/get', c, () => c.call('store/get', { ...s, key: 'calib/bias/1' }));
  await record('store/getData', c, () => c.call('store/getData', { ...s, key: 'calib/bias/1' }));
  await record('store/getDataRange', c, () => c.call('store/getDataRange', { ...s, key: 'calib/bias/1', start: 0, end: 4 }));
  await record('store/getDataRange-bad', c, () => c.call('store/getDataRange', { ...s, key: 'calib/bias/1', start: 4, end: 1 }));
  await record('store/getMetadata', c, () => c.call('store/getMetadata', { ...s, key: 'calib/bias/1', select: ['detector', 'absent'] }));
  await record('store/exists', c, () => c.call('store/exists', { ...s, key: 'calib/flat/1' }));
  await record('store/setData', c, () => c.call('store/setData', { ...s, key: 'calib/bias/1', data: b64('bias-1b') }));
  await record('store/setMetadata', c, () => c.call('store/setMetadata', { ...s, key: 'calib/bias/1', metadata: { kind: 'bias', detector: 1, version: 2 } }));
  await record('store/updateMetadata', c, () => c.call('store/updateMetadata', { ...s, key: 'calib/bias/1', metadata: { validated: true } }));
  await record('store/updateMetadata-missing', c, () => c.call('store/updateMetadata', { ...s, key: 'calib/flat/9', metadata: { validated: true } }));
  await record('store/multiset', c, () =>
    c.call('store/multiset', {
      ...s,
      keys: ['calib/flat/1', 'calib/flat/2'],
      datas: [b64('flat-1'), b64('flat-2')],
      metadatas: [{ kind: 'flat', detector: 1 }, { kind: 'flat', detector: 2 }],
    }),
  );
  await record('store/multiget', c, () => c.call('store/multiget', { ...s, keys: ['calib/flat/1', 'calib/flat/2'] }));
  await record('store/multigetData', c, () => c.call('store/multigetData', { ...s, keys: ['calib/flat/1', 'calib/bias/1'] }));
  await record('store/multigetMetadata', c, () => c.call('store/multigetMetadata', { ...s, keys: ['calib/flat/1', 'calib/bias/1'], select: ['kind'] }));
  await record('store/multisetData', c, () => c.call('store/multisetData', { ...s, keys: ['calib/flat/1', 'calib/flat/2'], datas: [b64('flat-1b'), b64('flat-2b')] }));
  await record('store/multisetMetadata', c, () =>
    c.call('store/multisetMetadata', { ...s, keys: ['calib/flat/1', 'calib/flat/2'], metadatas: [{ kind: 'flat', detector: 1, v: 2 }, { kind: 'flat', detector: 2, v: 2 }] }),
  );
  await record('store/multiupdateMetadata', c, () =>
    c.call('store/multiupdateMetadata', { ...s, keys: ['calib/flat/1', 'calib/flat/2'], metadatas: [{ validated: true }, { validated: false }] }),
  );
  await record('store/glob', c, () => c.call('store/glob', { ...s, pattern: 'calib/*/1' }));
  await record('store/query', c, () => c.call('store/query', { ...s, match: { kind: 'flat', validated: true }, select: ['detector'] }));
  await record('store/queryKeys', c, () => c.call('store/queryKeys', { ...s, match: { kind: 'flat' } }));
  const inFile = join(dir, 'dark.txt');
  writeFileSync(inFile, 'dark-1');
  await record('store/fromFile', c, () => c.call('store/fromFile', { ...s, key: 'calib/dark/1', path: inFile }));
  await record('store/toFile', c, () => c.call('store/toFile', { ...s, key: 'calib/dark/1', path: join(dir, 'dark-out.txt') }));
  await record('store/fromBytes', c, () => c.call('store/fromBytes', { ...s, key: 'calib/dark/2', data: b64('dark-2') }));
  await record('store/toBytes', c, () => c.call('store/toBytes', { ...s, key: 'calib/dark/2' }));
  await record('store/delete', c, () => c.call('store/delete', { ...s, key: 'calib/dark/2' }));
  await record('store/delete-missing', c, () => c.call('store/delete', { ...s, key: 'calib/dark/2' }));
  await record('store/invalid-key', c, () => c.call('store/get', { ...s, key: '../etc/passwd' }));
  let tx = '';
  await record('store/beginTransaction', c, async () => {
    tx = ((await c.call('store/beginTransaction', { ...s, notes: 'replace flats' })).result as { transactionId: string }).transactionId;
  });
  await record('store/tx-writes', c, async () => {
    await c.call('store/set', { ...s, key: 'calib/flat/3', data: b64('flat-3'), metadata: { kind: 'flat', detector: 3 } });
    await c.call('store/delete', { ...s, key: 'calib/flat/1' });
  });
  await record('store/commitTransaction', c, () => c.call('store/commitTransaction', { ...s, transactionId: tx }));
  await record('store/commit-again', c, () => c.call('store/commitTransaction', { ...s, transactionId: tx }));
  await record('store/rollbackTransaction', c, async () => {
    const t2 = ((await c.call('store/beginTransaction', { ...s, notes: 'try' })).result as { transactionId: string }).transactionId;
    await c.call('store/set', { ...s, key: 'scratch', data: b64('x'), metadata: {} });
    await c.call('store/rollbackTransaction', { ...s, transactionId: t2 });
    await c.call('store/exists', { ...s, key: 'scratch' });
  });
  await record('store/push-unmounted', c, () => c.call('store/push', { ...s, key: 'calib/flat/2' }));
  await c.ok('session/close', s);

  // A mounted session store over a read-only file store.
  const backing = join(dir, 'shared');
  await c.ok('session/open', { sessionId: 'fill', predicted: { inputs: [], outputs: [] }, store: { kind: 'file', path: backing }, notifications: [] });
  await c.ok('store/set', { sessionId: 'fill', key: 'shared/calib/bias', data: b64('base'), metadata: { v: 1 } });
  await c.ok('session/close', { sessionId: 'fill' });
  await record('open-mounted', c, () =>
    c.call('session/open', {
      sessionId: 'mnt',
      predicted: { inputs: [], outputs: [] },
      store: { kind: 'memory' },
      mount: { prefix: 'shared/', over: { kind: 'file', path: backing } },
      notifications: ['store'],
    }),
  );
  await record('store/info-mounted', c, () => c.call('store/info', { sessionId: 'mnt' }));
  await record('store/read-through', c, () => c.call('store/getMetadata', { sessionId: 'mnt', key: 'shared/calib/bias' }));
  await record('store/read-only', c, () => c.call('store/set', { sessionId: 'mnt', key: 'elsewhere/x', data: b64('x'), metadata: {} }));
  await record('store/push', c, async () => {
    await c.call('store/set', { sessionId: 'mnt', key: 'shared/calib/new', data: b64('n'), metadata: { v: 1 } });
    await c.call('store/push', { sessionId: 'mnt', key: 'shared/calib/new' });
  });
  await c.ok('session/close', { sessionId: 'mnt' });
  await record('store-no-session', c, () => c.call('store/get', { sessionId: 'nope', key: 'a' }));
  await c.ok('session/open', { sessionId: 'rel', predicted: { inputs: [], outputs: [] }, notifications: [] });
  await record('store/fromFile-relative', c, () => c.call('store/fromFile', { sessionId: 'rel', key: 'calib/dark/3', path: 'dark.txt' }));
  await c.ok('session/close', { sessionId: 'rel' });
  log(`store sidecar exit code: ${await c.close()}`);
}

async function repository(dir: string): Promise<void> {
  const root = join(dir, 'repo');
  const c = new Sidecar();
  await c.initialize({ capabilities: { workDoneProgress: true } });

  // predicted.initInputs: init-inputs given as refs, without a quantum.
  await record('open-predicted-init', c, () =>
    c.call('session/open', {
      sessionId: 'init-demo',
      predicted: { inputs: [compact(raw1)], initInputs: [compact(config)], outputs: [compact(calexp1)], taskName: 'lsst.ip.isr.IsrTask' },
      notifications: [],
    }),
  );
  await c.ok('session/close', { sessionId: 'init-demo' });

  // ---- a repository, its dataset types and its inputs
  await record('repository/create', c, () => c.call('repository/create', { root }));
  await record('repository/create-again', c, () => c.call('repository/create', { root }));
  const type = (name: string, storageClass: string, dimensions: string[]) => ({ name, storageClass, dimensions });
  await record('repository/registerDatasetType', c, () =>
    c.call('repository/registerDatasetType', { root, datasetType: type('raw', 'StructuredDataDict', ['instrument', 'detector']) }),
  );
  await record('repository/registerDatasetType-again', c, () =>
    c.call('repository/registerDatasetType', { root, datasetType: type('raw', 'StructuredDataDict', ['instrument', 'detector']) }),
  );
  await record('repository/registerDatasetType-conflict', c, () =>
    c.call('repository/registerDatasetType', { root, datasetType: type('raw', 'Text', ['instrument', 'detector']) }),
  );
  await record('repository/registerDatasetType-unknown-dimension', c, () =>
    c.call('repository/registerDatasetType', { root, datasetType: type('amp_bias', 'Bytes', ['instrument', 'amplifier']) }),
  );
  await c.ok('repository/registerDatasetType', { root, datasetType: type('isr_config', 'StructuredDataDict', []) });
  await c.ok('repository/registerDatasetType', { root, datasetType: type('calexp', 'StructuredDataDict', ['instrument', 'detector']) });
  await c.ok('repository/registerDatasetType', { root, datasetType: type('summary', 'Text', ['instrument']) });

  await record('repository/put', c, () =>
    c.call('repository/put', {
      root,
      datasetType: 'raw',
      dataId: { instrument: 'Cam1', detector: 1 },
      run: INPUT_RUN,
      payload: { encoding: 'json', value: { detector: 1, counts: [10, 12, 9] } },
      workDoneToken: 'seed-raw-1',
    }),
  );
  await c.ok('repository/put', { root, datasetType: 'raw', dataId: { instrument: 'Cam1', detector: 2 }, run: INPUT_RUN, payload: { encoding: 'json', value: { detector: 2, counts: [11, 8, 14] } } });
  await c.ok('repository/put', { root, datasetType: 'isr_config', dataId: {}, run: RUN, payload: { encoding: 'json', value: { doBias: true, threshold: 5 } } });
  await record('repository/put-unknown-type', c, () =>
    c.call('repository/put', { root, datasetType: 'flat', dataId: { instrument: 'Cam1', detector: 1 }, run: 'calib', payload: { encoding: 'json', value: {} } }),
  );
  await record('repository/get', c, () => c.call('repository/get', { root, ref: { id: raw1.id } }));
  await record('repository/get-base64', c, () => c.call('repository/get', { root, ref: { id: config.id }, as: 'base64' }));
  await record('repository/get-missing', c, () => c.call('repository/get', { root, ref: { id: raw3.id } }));
  await record('repository/queryDatasets', c, () => c.call('repository/queryDatasets', { root, datasetType: 'r*', dataId: { detector: 2 } }));
  await record('repository/queryDatasets-run', c, () => c.call('repository/queryDatasets', { root, run: RUN }));
  await record('repository/exportRecords', c, () => c.call('repository/exportRecords', { root, refs: [{ id: raw1.id }] }));

  // ---- two quanta: ISR on detectors 1-2, then a summary reading ISR's outputs
  let q1: { quantum: Json; outputs: Json[] } = { quantum: null, outputs: [] };
  await record('repository/makeQuantum', c, async () => {
    const res = await c.call('repository/makeQuantum', {
      root,
      taskName: 'lsst.ip.isr.IsrTask',
      dataId: { instrument: 'Cam1' },
      inputs: [{ id: raw1.id }, { id: raw2.id }],
      initInputs: [{ id: config.id }],
      outputs: [1, 2].map((d) => ({ datasetType: 'calexp', dataId: { instrument: 'Cam1', detector: d }, run: RUN })),
    });
    q1 = res.result as typeof q1;
  });
  let q2: { quantum: Json; outputs: Json[] } = { quantum: null, outputs: [] };
  await record('repository/makeQuantum-downstream', c, async () => {
    const res = await c.call('repository/makeQuantum', {
      root,
      taskName: 'lsst.pipe.tasks.Summarize',
      dataId: { instrument: 'Cam1' },
      inputs: q1.outputs,
      outputs: [{ datasetType: 'summary', dataId: { instrument: 'Cam1' }, run: RUN }],
    });
    q2 = res.result as typeof q2;
  });
  await record('repository/makeQuantum-unknown-type', c, () =>
    c.call('repository/makeQuantum', { root, taskName: 'x.Task', inputs: [], outputs: [{ datasetType: 'nope', dataId: {}, run: RUN }] }),
  );

  const Q1_ID = '3f2a4c1e-9b7d-4e8a-a1c2-5d6e7f809a1b';
  const Q2_ID = '7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
  const Q3_ID = 'b5e4d3c2-1a09-4f8e-9d7c-6b5a49382716';
  await record('open-repository', c, () =>
    c.call('session/open', {
      sessionId: 'r1',
      quantumId: Q1_ID,
      quantum: q1.quantum,
      repository: { root, recordsFile: join(dir, 'r1-records.sqlite3') },
      notifications: ['provenance'],
    }),
  );
  const r1 = { sessionId: 'r1' };
  await record('exportPredictedRecords-file', c, () => c.call('butler/exportPredictedRecords', { ...r1, refs: [{ id: calexp1.id }] }));
  await record('getURIs-file-predict', c, () => c.call('butler/getURIs', { ...r1, ref: { id: calexp1.id }, predict: true }));
  await c.ok('butler/storedMany', { ...r1, refs: [{ id: raw1.id }, { id: raw2.id }, { id: config.id }] });
  await c.ok('butler/get', { ...r1, ref: { id: config.id } });
  await c.ok('butler/get', { ...r1, ref: { id: raw1.id } });
  await c.ok('butler/get', { ...r1, ref: { id: raw2.id } });
  await record('repository-put', c, () =>
    c.call('butler/put', {
      ...r1,
      ref: { id: calexp1.id },
      payload: { encoding: 'json', value: { detector: 1, mean: 10.33 } },
      provenance: { inputs: [raw1.id, config.id], extras: { isrVersion: '27.0.1' } },
    }),
  );
  await c.ok('butler/put', { ...r1, ref: { id: calexp2.id }, payload: { encoding: 'json', value: { detector: 2, mean: 11.0 } } });
  await record('getURIs-file', c, () => c.call('butler/getURIs', { ...r1, ref: { id: calexp1.id } }));
  await record('store/info-repository', c, () => c.call('store/info', r1));
  await record('store/glob-repository', c, () => c.call('store/glob', { ...r1, pattern: 'u/demo/run1/calexp/*' }));
  await record('store/read-only-repository', c, () =>
    c.call('store/delete', { ...r1, key: 'raw/all/raw/detector=1_instrument=Cam1_2674b2da-9fad-50aa-948c-3181494703b9.json' }),
  );
  await record('provenance-daf-file', c, () => c.call('butler/extractProvenance', { ...r1, format: 'daf_butler' }));
  let p1: Json = null;
  await record('close-repository', c, async () => {
    p1 = ((await c.call('session/close', r1)).result as { provenance: Json }).provenance;
  });

  // The second quantum carries no datastore records: its inputs are found by trust mode.
  await c.ok('session/open', { sessionId: 'r2', quantumId: Q2_ID, quantum: q2.quantum, repository: { root }, notifications: [] });
  await c.ok('butler/storedMany', { sessionId: 'r2', refs: [{ id: calexp1.id }, { id: calexp2.id }] });
  await record('get-trust-mode', c, () => c.call('butler/get', { sessionId: 'r2', ref: { id: calexp1.id } }));
  await c.ok('butler/get', { sessionId: 'r2', ref: { id: calexp2.id } });
  await c.ok('butler/put', { sessionId: 'r2', ref: { id: summary.id }, payload: { encoding: 'text', text: 'detectors 1-2: mean 10.665\n' } });
  const p2 = ((await c.ok('session/close', { sessionId: 'r2' })) as { provenance: Json }).provenance;
  const p2File = join(dir, 'r2-provenance.json');
  writeFileSync(p2File, JSON.stringify(p2));

  // ---- collect-and-transfer
  await record('repository/collectAndTransfer-dry', c, () =>
    c.call('repository/collectAndTransfer', { root, quanta: [q1.quantum, q2.quantum], provenance: [p1, p2], dryRun: true }),
  );
  await record('repository/collectAndTransfer', c, () =>
    c.call('repository/collectAndTransfer', { root, quanta: [q1.quantum, q2.quantum], provenance: [p1, p2File], workDoneToken: 'collect-1' }),
  );
  await record('repository/collectAndTransfer-again', c, () =>
    c.call('repository/collectAndTransfer', { root, quanta: [q1.quantum, q2.quantum], provenance: [p1, p2File] }),
  );
  await record('repository/get-collected', c, () => c.call('repository/get', { root, ref: { id: summary.id } }));

  // A third quantum writes calexp detector 1 again, under a new (UNIQUE) id: a conflict.
  const q3 = (await c.ok('repository/makeQuantum', {
    root,
    taskName: 'lsst.ip.isr.IsrTask',
    dataId: { instrument: 'Cam1' },
    inputs: [{ id: raw1.id }],
    outputs: [{ datasetType: 'calexp', dataId: { instrument: 'Cam1', detector: 1 }, run: RUN, idGenerationMode: 'UNIQUE' }],
  })) as { quantum: Json; outputs: Array<{ id: string }> };
  await c.ok('session/open', { sessionId: 'r3', quantumId: Q3_ID, quantum: q3.quantum, repository: { root }, notifications: [] });
  await c.ok('butler/get', { sessionId: 'r3', ref: { id: raw1.id } });
  await c.ok('butler/put', { sessionId: 'r3', ref: { id: q3.outputs[0]!.id }, payload: { encoding: 'json', value: { detector: 1, mean: 99 } } });
  const p3 = ((await c.ok('session/close', { sessionId: 'r3' })) as { provenance: Json }).provenance;
  await record('repository/collectAndTransfer-conflict', c, () =>
    c.call('repository/collectAndTransfer', { root, quanta: [q3.quantum], provenance: [p3] }),
  );

  // ---- lineage and provenance exports
  await record('repository/lineage-up', c, () => c.call('repository/lineage', { root, datasetId: summary.id }));
  await record('repository/lineage-depth', c, () => c.call('repository/lineage', { root, datasetId: summary.id, direction: 'up', depth: 1 }));
  await record('repository/lineage-down', c, () => c.call('repository/lineage', { root, datasetId: raw1.id, direction: 'down' }));
  await record('repository/lineage-unknown', c, () => c.call('repository/lineage', { root, datasetId: raw3.id }));
  for (const format of ['native', 'daf_butler', 'prov', 'openlineage']) {
    await record(`repository/provenance-${format}`, c, () => c.call('repository/provenance', { root, quantumId: Q2_ID, format }));
  }
  await record('repository/provenance-unknown', c, () => c.call('repository/provenance', { root, quantumId: Q3_ID }));

  await record('open-repository-missing', c, () =>
    c.call('session/open', { sessionId: 'r9', predicted: { inputs: [], outputs: [] }, repository: { root: join(dir, 'nowhere') } }),
  );
  log(`repository sidecar exit code: ${await c.close()}`);
}

// ---- formatting ------------------------------------------------------------------------

/** JSON with 2-space indentation; arrays and objects that fit in `width` columns stay on one line. */
/** One-line JSON with a space after each colon and comma. */
function inline(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`)
    .join(', ')}}`;
}

function pretty(value: unknown, indent = '', width = 110): string {
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

function markdown(): string {
  const out: string[] = [];
  for (const [name, msgs] of Object.entries(examples)) {
    out.push(`## ${name}`, '', '```json');
    for (const { dir, msg, raw } of msgs) {
      const text = raw ?? (typeof msg === 'string' ? msg : pretty(msg, '    '));
      out.push(`${dir} ${text}`);
    }
    out.push('```', '');
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const outDir = process.argv[2] ? resolve(process.argv[2]) : mkdtempSync(join(tmpdir(), 'qb-examples-'));
  mkdirSync(outDir, { recursive: true });
  const scratch = mkdtempSync(join(outDir, 'scratch-'));
  await lifecycle(scratch);
  await butler(scratch);
  await limits(scratch);
  await cancellation(scratch);
  await store(scratch);
  await repository(scratch);
  writeFileSync(join(outDir, 'examples.json'), JSON.stringify(examples, null, 2) + '\n');
  writeFileSync(join(outDir, 'examples.md'), markdown());
  log(`wrote ${join(outDir, 'examples.json')} and ${join(outDir, 'examples.md')}`);
}

main().catch((err: unknown) => {
  log(`record-examples failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
