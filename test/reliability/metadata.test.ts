/**
 * Issue 11, finding 8: a top-level metadata name "__proto__" was dropped by the protocol
 * schema, and a query on it then matched every key. Through the real CLI, on every backend.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../e2e/raw-client.js';

let client: RawClient;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qb-rel-md-'));
  client = new RawClient();
  await client.initialize();
});
afterAll(async () => {
  client.kill();
  await client.exit;
  rmSync(dir, { recursive: true, force: true });
});

/** Own member names and values, as JSON text (a member named __proto__ included). */
const members = (v: unknown): string => JSON.stringify(Object.entries(v as object));

describe('metadata member names', () => {
  it.each([['memory'], ['sqlite'], ['file']])('"__proto__" and "constructor" are names like any other (%s store)', async (kind) => {
    const store = kind === 'memory' ? { kind } : { kind, path: join(dir, kind === 'sqlite' ? 'md.sqlite' : 'md-files') };
    const opened = await client.call('session/open', { predicted: { inputs: [], outputs: [] }, store, notifications: [] });
    const sessionId = (opened.result as { sessionId: string }).sessionId;
    const metadata = JSON.parse('{"__proto__":{"a":1},"constructor":"c","b":2}') as Record<string, unknown>;
    expect((await client.call('store/set', { sessionId, key: 'with', data: '', metadata })).error).toBeUndefined();
    expect((await client.call('store/set', { sessionId, key: 'without', data: '', metadata: { b: 2 } })).error).toBeUndefined();

    const got = (await client.call('store/getMetadata', { sessionId, key: 'with' })).result as { metadata: unknown };
    expect(members(got.metadata)).toBe(members(metadata));

    const query = async (match: string): Promise<unknown> =>
      (await client.call('store/queryKeys', { sessionId, match: JSON.parse(match) as unknown })).result;
    expect(await query('{"__proto__":{"a":2}}')).toEqual({ keys: [] });
    expect(await query('{"__proto__":{"a":1}}')).toEqual({ keys: ['with'] });
    expect(await query('{"constructor":"c"}')).toEqual({ keys: ['with'] });
    expect(await query('{"b":2}')).toEqual({ keys: ['with', 'without'] });

    const selected = (await client.call('store/getMetadata', { sessionId, key: 'with', select: ['__proto__'] })).result as { metadata: unknown };
    expect(members(selected.metadata)).toBe('[["__proto__",{"a":1}]]');
    await client.call('session/close', { sessionId });
  });
});
