/** QuantumButlerClient.spawn({node}): which Node binary runs the sidecar. */
import { describe, expect, it } from 'vitest';
import { defaultNodeBinary } from '../../src/client/index.js';
import { spawnClient } from './harness.js';

describe('spawn({node})', () => {
  it('defaults to this process’s Node, and to node from PATH under Electron', () => {
    expect(defaultNodeBinary({ ...process.versions }, '/opt/node/bin/node')).toBe('/opt/node/bin/node');
    expect(defaultNodeBinary({ ...process.versions, electron: '30.0.0' }, '/Applications/Code.app/Contents/MacOS/Electron')).toBe('node');
  });

  it('runs the sidecar with the binary given', async () => {
    const client = await spawnClient({ node: process.execPath });
    try {
      expect(client.initializeResult.serverInfo.name).toBe('quantum-butler');
      expect(client.child.spawnargs[0]).toBe(process.execPath);
    } finally {
      await client.close();
    }
  });

  it('says which binary could not start', async () => {
    const missing = '/nonexistent/quantum-butler-test/node';
    await expect(spawnClient({ node: missing })).rejects.toThrow(`Cannot start the sidecar with Node binary '${missing}'`);
  });
});
