/**
 * Every cell of the transition table in docs/protocol/provenance.md ("The per-input state
 * machine"): the exported state name and the presence each event leaves, from each state.
 */
import { describe, expect, it } from 'vitest';
import {
  PREDICTED,
  onChecked,
  onDeferredIssued,
  onLoadFailed,
  onLoaded,
  onMarkedUnused,
  presenceOf,
  stateName,
  type InputState,
} from '../../src/butler/input-state.js';

type Event = 'stored' | 'notStored' | 'read' | 'readFailed' | 'getDeferred' | 'markUnused';
const apply: Record<Event, (s: InputState) => InputState> = {
  stored: (s) => onChecked(s, true),
  notStored: (s) => onChecked(s, false),
  read: onLoaded,
  readFailed: onLoadFailed,
  getDeferred: onDeferredIssued,
  markUnused: (s) => onMarkedUnused(s, 'new reason'),
};

/** The starting states, each reached the documented way. */
const from: Record<string, InputState> = {
  predicted: PREDICTED,
  available: onChecked(PREDICTED, true),
  missing: onChecked(PREDICTED, false),
  'deferred (present)': onDeferredIssued(onChecked(PREDICTED, true)),
  'deferred (unknown)': onDeferredIssued(PREDICTED),
  loaded: onLoaded(PREDICTED),
  'unused (present)': onMarkedUnused(onChecked(PREDICTED, true), 'old reason'),
  'unused (absent)': onMarkedUnused(onChecked(PREDICTED, false), 'old reason'),
  'unused (unknown)': onMarkedUnused(PREDICTED, 'old reason'),
};

// [state, event, exported state after, presence after]
const table: Array<[string, Event, string, boolean | null]> = [
  ['predicted', 'stored', 'available', true],
  ['predicted', 'notStored', 'missing', false],
  ['predicted', 'read', 'loaded', true],
  ['predicted', 'readFailed', 'missing', false],
  ['predicted', 'getDeferred', 'deferred', null],
  ['predicted', 'markUnused', 'unused', null],
  ['available', 'notStored', 'missing', false],
  ['missing', 'stored', 'available', true],
  ['available', 'readFailed', 'missing', false],
  ['missing', 'read', 'loaded', true],
  ['available', 'getDeferred', 'deferred', true],
  ['missing', 'getDeferred', 'deferred', false],
  ['available', 'markUnused', 'unused', true],
  ['missing', 'markUnused', 'unused', false],
  ['deferred (unknown)', 'stored', 'deferred', true],
  ['deferred (present)', 'notStored', 'deferred', false],
  ['deferred (present)', 'read', 'loaded', true],
  ['deferred (present)', 'readFailed', 'deferred', false],
  ['deferred (present)', 'getDeferred', 'deferred', true],
  ['deferred (present)', 'markUnused', 'unused', true],
  ['deferred (unknown)', 'markUnused', 'unused', null],
  ['loaded', 'stored', 'loaded', true],
  ['loaded', 'notStored', 'loaded', true],
  ['loaded', 'read', 'loaded', true],
  ['loaded', 'readFailed', 'loaded', true],
  ['loaded', 'getDeferred', 'loaded', true],
  ['loaded', 'markUnused', 'unused', true],
  ['unused (unknown)', 'stored', 'unused', true],
  ['unused (present)', 'notStored', 'unused', false],
  ['unused (absent)', 'stored', 'unused', true],
  ['unused (present)', 'read', 'loaded', true],
  ['unused (present)', 'readFailed', 'unused', false],
  ['unused (unknown)', 'readFailed', 'unused', false],
  ['unused (present)', 'getDeferred', 'deferred', true],
  ['unused (unknown)', 'getDeferred', 'deferred', null],
  ['unused (present)', 'markUnused', 'unused', true],
];

describe('input state transitions (the documented table)', () => {
  it.each(table)('%s, then %s: %s with presence %s', (start, event, name, presence) => {
    const after = apply[event](from[start]!);
    expect(stateName(after)).toBe(name);
    expect(presenceOf(after)).toBe(presence);
  });

  it('the starting states carry the names the table gives them', () => {
    expect(Object.fromEntries(Object.entries(from).map(([k, s]) => [k, stateName(s)]))).toEqual({
      predicted: 'predicted',
      available: 'available',
      missing: 'missing',
      'deferred (present)': 'deferred',
      'deferred (unknown)': 'deferred',
      loaded: 'loaded',
      'unused (present)': 'unused',
      'unused (absent)': 'unused',
      'unused (unknown)': 'unused',
    });
  });

  it('marking unused again records the new reason', () => {
    const s = onMarkedUnused(from['unused (present)']!, 'second');
    expect(s).toMatchObject({ kind: 'unused', reason: 'second', present: true });
  });
});
