/**
 * A dataset ref's wire JSON (wireRef), made once per ref for the answers that read the same
 * dataset again and again (a get of an input): refs are frozen, so the text cannot go stale,
 * and it is held only as long as the ref is.
 */
import { wireRef } from '../butler/provenance.js';
import type { DatasetRef } from '../model/dataset-ref.js';

const cache = new WeakMap<DatasetRef, string>();

/** JSON.stringify(wireRef(ref)), cached per ref. */
export function cachedRefJson(ref: DatasetRef): string {
  let text = cache.get(ref);
  if (text === undefined) {
    text = JSON.stringify(wireRef(ref));
    cache.set(ref, text);
  }
  return text;
}

/** JSON.stringify(wireRef(ref)), not kept (a put's ref is answered once). */
export function refJson(ref: DatasetRef): string {
  return JSON.stringify(wireRef(ref));
}
