/**
 * session/open's provenanceFile: the native provenance document reaches the file however
 * the session ends (explicit close, shutdown without close, end of input, parent death),
 * so a host that forgets to close or dies loses nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { outputRefs } from './fixture.js';
import { RawClient } from './raw-client.js';

const dir = mkdtempSync(join(tmpdir(), 'qb-provfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const live: RawClient[] = [];
afterEach(() => {
  for (const c of live.splice(0)) c.kill();
});

let n = 0;
/** A started sidecar with one session that wrote its first output; returns the client and the file path. */
async function sessionWithOneOutput(initialize: Record<string, unknown> = {}): Promise<{ c: RawClient; file: string; sessionId: string; outputId: string }> {
  const c = new RawClient();
  live.push(c);
  await c.initialize(initialize);
  const file = join(dir, `prov-${++n}.json`);
  const outputs = outputRefs();
  const opened = await c.call('session/open', { predicted: { inputs: [], outputs }, notifications: [], provenanceFile: file });
  expect(opened.error).toBeUndefined();
  const sessionId = (opened.result as { sessionId: string }).sessionId;
  const put = await c.call('butler/put', { sessionId, ref: { id: outputs[0]!.id }, payload: { encoding: 'json', value: { x: 1 } } });
  expect(put.error).toBeUndefined();
  return { c, file, sessionId, outputId: outputs[0]!.id };
}

const read = (file: string): { schemaVersion: string; actualOutputs: string[]; execution: { sessionId: string } } => JSON.parse(readFileSync(file, 'utf8'));

describe('provenanceFile', () => {
  it('session/close writes the document it returns', async () => {
    const { c, file, sessionId, outputId } = await sessionWithOneOutput();
    expect(existsSync(file)).toBe(false);
    const closed = await c.call('session/close', { sessionId });
    const returned = (closed.result as { provenance: unknown }).provenance;
    expect(read(file)).toEqual(returned);
    expect(read(file).actualOutputs).toEqual([outputId]);
  });

  it('shutdown without session/close still writes it', async () => {
    const { c, file, sessionId, outputId } = await sessionWithOneOutput();
    expect((await c.call('shutdown')).result).toBeNull();
    expect(read(file)).toMatchObject({ actualOutputs: [outputId], execution: { sessionId } });
    c.notify('exit');
    expect(await c.exit).toBe(0);
  });

  it('the end of input (the host went away) still writes it', async () => {
    const { c, file, outputId } = await sessionWithOneOutput();
    c.child.stdin!.end();
    expect(await c.exit).toBe(1);
    expect(read(file).actualOutputs).toEqual([outputId]);
  });

  it('the death of the watched parent process still writes it', async () => {
    const parent = spawn('sleep', ['60']);
    const { c, file, outputId } = await sessionWithOneOutput({ processId: parent.pid });
    parent.kill('SIGKILL');
    expect(await c.exit).toBe(1);
    expect(read(file).actualOutputs).toEqual([outputId]);
  });

  it('a relative path is refused at open', async () => {
    const c = new RawClient();
    live.push(c);
    await c.initialize();
    const r = await c.call('session/open', { predicted: { inputs: [], outputs: outputRefs() }, provenanceFile: 'prov.json' });
    expect(r.error).toMatchObject({ code: 1028, data: { kind: 'InvalidArgument' } });
  });

  it('a file that cannot be written fails the close with IOFailure carrying the document', async () => {
    const c = new RawClient();
    live.push(c);
    await c.initialize();
    const file = join(dir, 'no-such-dir', 'prov.json');
    const opened = await c.call('session/open', { predicted: { inputs: [], outputs: outputRefs() }, notifications: [], provenanceFile: file });
    const sessionId = (opened.result as { sessionId: string }).sessionId;
    const closed = await c.call('session/close', { sessionId });
    expect(closed.error).toMatchObject({ data: { kind: 'IOFailure', sessionId } });
    expect((closed.error!.data as { details: { provenance: { schemaVersion: string } } }).details.provenance.schemaVersion).toBeDefined();
  });
});
