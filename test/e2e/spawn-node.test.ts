/** QuantumButlerClient.spawn: which Node binary runs the sidecar ({node}), and what it keeps of its stderr ({stderr: 'pipe'}). */
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

describe("spawn({stderr: 'pipe'})", () => {
  it("keeps the end of the sidecar's stderr, stderrLimit characters at most, not all of it", async () => {
    const client = await spawnClient({ args: ['--log-level=debug'], stderrLimit: 2000 });
    try {
      // Each failed call logs a line of ~130 characters at debug: 200 of them, 26,000.
      for (let i = 0; i < 200; i++) await client.conn.sendRequest('butler/stored', { sessionId: `gone-${i}`, ref: { id: 'x' } }).catch(() => {});
      for (let i = 0; i < 200 && !client.stderrText.includes('gone-199.'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(client.stderrText).toMatch(/"butler\/stored failed: No open session gone-199\.","kind":"SessionNotFound"\}\n$/);
      expect(client.stderrText.length).toBeLessThanOrEqual(2000);
      expect(client.stderrText).not.toContain('gone-0.');
    } finally {
      await client.close();
    }
  });

  it('refuses a stderrLimit that is not a whole number of characters from 1', async () => {
    for (const stderrLimit of [0, -5, 1.5, Number.NaN]) await expect(spawnClient({ stderrLimit })).rejects.toThrow(/stderrLimit must be/);
  });
});
