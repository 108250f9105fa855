/**
 * The per-input provenance state machine (docs/protocol/provenance.md, "The per-input
 * state machine").
 *
 * Each predicted input is in exactly one of these states; provenance sets are
 * derived from them, never kept as loose sets. `present` is what the last
 * existence check or load attempt learned (null = never learned). A loaded input
 * is present by construction, so "actual ⊆ available" cannot be violated.
 */
export type Presence = boolean | null;

export type InputState =
  | { readonly kind: 'predicted' }
  | { readonly kind: 'checked'; readonly present: boolean }
  | { readonly kind: 'deferred'; readonly present: Presence; readonly handles: number }
  | { readonly kind: 'loaded'; readonly loads: number }
  | { readonly kind: 'unused'; readonly reason: string; readonly present: Presence };

export const PREDICTED: InputState = { kind: 'predicted' };

export function presenceOf(s: InputState): Presence {
  switch (s.kind) {
    case 'predicted':
      return null;
    case 'loaded':
      return true;
    default:
      return s.present;
  }
}

/** stored()/storedMany() answered. A loaded input stays loaded; others learn presence. */
export function onChecked(s: InputState, present: boolean): InputState {
  switch (s.kind) {
    case 'predicted':
    case 'checked':
      return { kind: 'checked', present };
    case 'deferred':
      return { ...s, present };
    case 'unused':
      return { ...s, present };
    case 'loaded':
      // It was read already; a later "missing" answer means it vanished since, which
      // does not undo the use.
      return s;
  }
}

/** A read succeeded. Marking unused is undone by a later read, as in daf_butler. */
export function onLoaded(s: InputState): InputState {
  return { kind: 'loaded', loads: s.kind === 'loaded' ? s.loads + 1 : 1 };
}

/** A read failed because the dataset is missing. */
export function onLoadFailed(s: InputState): InputState {
  switch (s.kind) {
    case 'loaded':
      return s;
    case 'deferred':
    case 'unused':
      return { ...s, present: false };
    default:
      return { kind: 'checked', present: false };
  }
}

export function onDeferredIssued(s: InputState): InputState {
  switch (s.kind) {
    case 'deferred':
      return { ...s, handles: s.handles + 1 };
    case 'loaded':
      return s;
    default:
      return { kind: 'deferred', present: presenceOf(s), handles: 1 };
  }
}

export function onMarkedUnused(s: InputState, reason: string): InputState {
  return { kind: 'unused', reason, present: presenceOf(s) };
}

/** The exported state name. */
export function stateName(s: InputState): 'predicted' | 'available' | 'missing' | 'deferred' | 'loaded' | 'unused' {
  switch (s.kind) {
    case 'checked':
      return s.present ? 'available' : 'missing';
    default:
      return s.kind;
  }
}

/** Is the input known to be present (daf_butler's available_inputs)? */
export function isAvailable(s: InputState): boolean {
  return presenceOf(s) === true;
}

/**
 * Did the task use it (daf_butler's actual_inputs)? Loaded inputs, and — unless strict —
 * deferred inputs known to be present (daf_butler counts a handle as use when issued).
 */
export function isActual(s: InputState, strictDeferred: boolean): boolean {
  if (s.kind === 'loaded') return true;
  if (s.kind === 'deferred') return !strictDeferred && s.present === true;
  return false;
}
