/**
 * The zod-free check the CLI's front door answers a first initialize with
 * (src/server/handlers/initialize.ts): whatever it accepts, the schema accepts too, with the
 * same reading of what the answer and its effects depend on; what it leaves to the server
 * includes every params the schema refuses.
 */
import { describe, expect, it } from 'vitest';
import { Initialize } from '../../protocol/lifecycle.js';
import { plainInitializeParams } from '../../src/server/handlers/initialize.js';

const base = { protocolVersion: '1.0', processId: null, capabilities: {} };

/** What hosts send: the front door answers these. */
const plain: unknown[] = [
  base,
  { protocolVersion: '1.0' },
  { protocolVersion: '1.0', processId: 1234, clientInfo: { name: 'quantum-butler-python', version: '0.1.0' }, capabilities: { logMessages: true, provenanceBatches: true, workDoneProgress: false } },
  { protocolVersion: '1.7', processId: undefined, clientInfo: { name: 'x' }, capabilities: { somethingNew: 'yes', count: 3, off: null } },
  { protocolVersion: '1.0', processId: 5, capabilities: { provenanceBatches: false } },
];

/** Left to the server: the schema refuses them, or they need what only the server does. */
const leftToServer: unknown[] = [
  undefined,
  null,
  [],
  'initialize',
  {},
  { ...base, protocolVersion: 1 },
  { ...base, protocolVersion: '1' },
  { ...base, protocolVersion: '2.0' }, // unsupported: the server's error
  { ...base, protocolVersion: ' 1.0' },
  { ...base, processId: 1.5 },
  { ...base, processId: 0 }, // names no process
  { ...base, processId: -5 },
  { ...base, processId: '12' },
  { ...base, processId: 2 ** 53 },
  { ...base, clientInfo: 'me' },
  { ...base, clientInfo: {} },
  { ...base, clientInfo: { name: 1 } },
  { ...base, clientInfo: { name: 'a', version: 2 } },
  { ...base, clientInfo: { name: 'a', extra: 1 } },
  { ...base, capabilities: [] },
  { ...base, capabilities: null },
  { ...base, capabilities: { logMessages: 'yes' } },
  { ...base, capabilities: { provenanceBatches: null } },
  { ...base, capabilities: { payloadEncodings: ['json'] } },
  { ...base, capabilities: { nested: { a: 1 } } },
  { ...base, capabilities: { list: [1] } },
  { ...base, initializationOptions: { logLevel: 'debug' } },
  { ...base, trace: 'verbose' },
  { ...base, workDoneToken: 't' },
  JSON.parse('{"protocolVersion":"1.0","__proto__":{"x":1}}'),
];

describe('plainInitializeParams', () => {
  it.each(plain.map((p) => [JSON.stringify(p), p]))('accepts %s as the schema does, read the same', (_, params) => {
    const mine = plainInitializeParams(params);
    expect(mine).toBeDefined();
    const parsed = Initialize.params.parse(params);
    expect(mine!.protocolVersion).toBe(parsed.protocolVersion);
    expect(mine!.processId ?? null).toBe(parsed.processId ?? null);
    expect(mine!.clientInfo).toEqual(parsed.clientInfo);
    expect(mine!.capabilities.logMessages).toBe(parsed.capabilities.logMessages);
    expect(mine!.capabilities.provenanceBatches).toBe(parsed.capabilities.provenanceBatches);
  });

  it.each(leftToServer.map((p) => [JSON.stringify(p) ?? String(p), p]))('leaves %s to the server', (_, params) => {
    expect(plainInitializeParams(params)).toBeUndefined();
  });

  it('accepts nothing the schema refuses', () => {
    for (const params of leftToServer) {
      if (!Initialize.params.safeParse(params).success) expect(plainInitializeParams(params)).toBeUndefined();
    }
  });
});
