import { describe, expect, it } from 'vitest';
import { Get, Ping, QuantumButlerError } from '../../src/client/index.js';
import { spawnClient } from '../e2e/harness.js';

describe('QuantumButlerClient.request', () => {
  it('an error answer becomes a QuantumButlerError with its code and data.kind; after close, a request rejects (never throws)', async () => {
    const client = await spawnClient();
    const err = await client.request(Get, { sessionId: 'no-such-session', ref: { id: '00000000-0000-0000-0000-000000000000' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuantumButlerError);
    expect((err as QuantumButlerError).kind).toBe('SessionNotFound');
    expect(typeof (err as QuantumButlerError).code).toBe('number');
    expect(await client.close()).toBe(0);
    let sync: unknown = null;
    let pending: Promise<unknown> | undefined;
    try {
      pending = client.request(Ping, null);
    } catch (e) {
      sync = e;
    }
    expect(sync).toBeNull();
    await expect(pending).rejects.toThrow(/disposed|closed/i);
  });
});

describe('QuantumButlerClient.close', () => {
  it('close leaves no timer behind once the sidecar has answered and exited (a host process can end at once)', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const client = await spawnClient();
    expect(await client.close(60_000)).toBe(0);
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
