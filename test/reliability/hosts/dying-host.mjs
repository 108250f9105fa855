// A host as a real one runs the sidecar: all three pipes, stderr never read. It opens a
// session with a provenance file, puts an 8 MiB value, then reports on stdout, and waits to
// be killed: `idle` reports "ready PID" at once; `mid-write` asks for the value back and
// reports "writing PID" once the first bytes of the 11 MB answer arrive, then reads no more,
// so that the sidecar is blocked in the middle of writing it.
// Usage: node dying-host.mjs CLI PROVENANCE_FILE idle|mid-write
import { spawn } from 'node:child_process';
import { encodeFrame, jsonMessageDecoder } from '../../../dist/src/util/framing.js';
import { makeDatasetId } from '../../../dist/src/model/dataset-id.js';

const [cli, provenanceFile, mode] = process.argv.slice(2);
const sidecar = spawn(process.execPath, [cli, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
const answers = new Map();
let nextId = 1;
const decoder = jsonMessageDecoder((m) => answers.get(m.id)?.(m));
const onData = (chunk) => decoder.push(chunk);
sidecar.stdout.on('data', onData);
const send = (method, params) => {
  const id = nextId++;
  sidecar.stdin.write(encodeFrame(JSON.stringify({ jsonrpc: '2.0', id, method, params })));
  return id;
};
const call = (method, params) =>
  new Promise((resolve, reject) => {
    answers.set(send(method, params), (m) => (m.error ? reject(new Error(JSON.stringify(m.error))) : resolve(m.result)));
  });

await call('initialize', { protocolVersion: '1.0', processId: null, capabilities: {} });
const dataId = { instrument: 'Host', detector: 1 };
const id = makeDatasetId('DATAID_TYPE_RUN', 'blob', dataId, ['instrument', 'detector'], 'host');
const ref = { id, datasetType: { name: 'blob', storageClass: 'Bytes', dimensions: ['instrument', 'detector'] }, dataId, run: 'host' };
const { sessionId } = await call('session/open', { predicted: { inputs: [], outputs: [ref] }, notifications: [], provenanceFile });
await call('butler/put', { sessionId, ref: { id }, payload: { encoding: 'base64', data: Buffer.alloc(8 * 1024 * 1024, 9).toString('base64') } });
if (mode === 'mid-write') {
  sidecar.stdout.off('data', onData);
  sidecar.stdout.once('data', () => {
    sidecar.stdout.pause();
    process.stdout.write(`writing ${sidecar.pid} ${id}\n`);
  });
  send('butler/get', { sessionId, ref: { id }, as: 'base64' });
} else {
  process.stdout.write(`ready ${sidecar.pid} ${id}\n`);
}
setInterval(() => {}, 60_000);
