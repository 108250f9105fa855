/**
 * A full garbage collection on demand, for the one place where waiting for V8's own timing
 * costs a whole payload of memory: once a large message has been parsed, its body buffer
 * (up to --max-message-bytes) is garbage, but V8 frees it only at its next collection,
 * usually after the handler has made the decoded value, so both are held at once. V8 offers
 * no other way to free a buffer now than `gc()`, which `--expose-gc` (set here at run time
 * rather than demanded of every host's command line) makes reachable.
 *
 * A full collection costs time in proportion to the live heap, so it is only worth it when
 * the garbage to free is larger than that heap: `collectGarbageFor(bytes)` collects then
 * only (an idle sidecar given a large put; not one holding many values, where it would
 * cost more time than the memory is worth). `flatBytes`: heap taken by flat strings, which a
 * collection marks at no cost, left out of that comparison.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

export function collectGarbageFor(garbageBytes: number, flatBytes = 0): void {
  if (garbageBytes < getHeapStatistics().used_heap_size - flatBytes) return;
  collectGarbage();
}

/** A full garbage collection now, whatever it costs (nothing where V8 offers no `gc()`). */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = (runInNewContext('gc') as (() => void) | undefined) ?? null;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
