/** The per-input state machine, and invariants over random operation sequences. */
import { describe, expect, it } from 'vitest';
import {
  PREDICTED,
  isActual,
  isAvailable,
  onChecked,
  onDeferredIssued,
  onLoadFailed,
  onLoaded,
  onMarkedUnused,
  presenceOf,
  stateName,
  type InputState,
} from '../../src/butler/input-state.js';

describe('input state machine', () => {
  it('follows the documented transitions', () => {
    let s: InputState = PREDICTED;
    expect(stateName(s)).toBe('predicted');
    s = onChecked(s, true);
    expect(stateName(s)).toBe('available');
    s = onDeferredIssued(s);
    expect(s).toEqual({ kind: 'deferred', present: true, handles: 1 });
    s = onLoaded(s);
    expect(s).toEqual({ kind: 'loaded', loads: 1 });
    s = onChecked(s, false); // vanished after use: the use stands
    expect(stateName(s)).toBe('loaded');
    s = onMarkedUnused(s, 'cut');
    expect(s).toEqual({ kind: 'unused', reason: 'cut', present: true });
    s = onLoaded(s); // read again after marking unused: used again (as daf_butler)
    expect(stateName(s)).toBe('loaded');
  });

  it('a failed load of a deferred input keeps the handle and records absence', () => {
    const s = onLoadFailed(onDeferredIssued(PREDICTED));
    expect(s).toEqual({ kind: 'deferred', present: false, handles: 1 });
    expect(isActual(s, false)).toBe(false);
    expect(isAvailable(s)).toBe(false);
  });

  it('deferred inputs count as used only when known present, and never in strict mode', () => {
    const known = onDeferredIssued(onChecked(PREDICTED, true));
    const unknown = onDeferredIssued(PREDICTED);
    expect(isActual(known, false)).toBe(true);
    expect(isActual(known, true)).toBe(false);
    expect(isActual(unknown, false)).toBe(false);
  });

  it('actual ⊆ available holds after any sequence of events', () => {
    const ops: Array<(s: InputState) => InputState> = [
      (s) => onChecked(s, true),
      (s) => onChecked(s, false),
      onLoaded,
      onLoadFailed,
      onDeferredIssued,
      (s) => onMarkedUnused(s, 'r'),
    ];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let trial = 0; trial < 2000; trial++) {
      let s: InputState = PREDICTED;
      for (let step = 0; step < 8; step++) {
        s = ops[rand(ops.length)]!(s);
        for (const strict of [false, true]) {
          if (isActual(s, strict)) expect(isAvailable(s)).toBe(true);
        }
        if (s.kind === 'loaded') expect(presenceOf(s)).toBe(true);
      }
    }
  });
});
