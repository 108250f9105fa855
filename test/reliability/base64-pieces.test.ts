/**
 * A get's base64 text is encoded into its frame in pieces that are ordinary heap strings. A piece
 * of 128 KiB or more is a string in V8's large-object space, mapped on its own and unmapped on the
 * collector's schedule, which a loaded machine puts off: with 256 KiB pieces the memory of a
 * 32 MiB get depended on the machine's load (backpressure.test.ts measured 67.6 MiB in a loaded
 * suite against its bound of 64, 47-50 on an idle machine).
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { expect, it } from 'vitest';
import { Base64Json } from '../../src/server/spliced-json.js';
import { MiB } from './process-watch.js';

/** Bytes of live or not yet collected objects in the young generation's large-object space. */
function youngLargeObjects(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_large_object_space')!.space_used_size;
}

it('a 4 MiB value is written into its frame as base64 without a string in the large-object space', () => {
  const bytes = Buffer.alloc(4 * MiB, 9);
  const value = new Base64Json(bytes);
  const out = Buffer.allocUnsafe(value.byteLength);
  const before = youngLargeObjects();
  value.writeInto(out, 0);
  // A large piece made during the write would still be there: it is collected only by a later collection.
  expect(youngLargeObjects()).toBeLessThanOrEqual(before);
  expect(out.toString('latin1')).toBe(JSON.stringify(bytes.toString('base64')));
});
