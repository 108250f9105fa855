/**
 * The order collect-and-transfer hands outputs to the writer in: by id, then by item (the
 * earliest item of a repeated id writes first). Large batches are sorted in buckets of the
 * ids' leading digits; the result must be that of one plain sort, repeated ids included.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sameIds, sortById, sortSmall, type DatasetPlan } from '../../src/repository/collect-plan.js';

const plan = (id: string, item: number): DatasetPlan => ({ id, item }) as unknown as DatasetPlan;

describe('sortById', () => {
  it.each([10, 50_000])('orders %i outputs by id, then item, as one plain sort does', (n) => {
    const ids = Array.from({ length: n }, () => randomUUID());
    // Repeated ids (a dataset claimed by several items), some given in descending item order.
    const plans = ids.map((id, i) => plan(id, i));
    for (let i = 0; i < n / 10; i++) plans.push(plan(ids[(i * 7) % n]!, n + (n - i)));
    const shuffled = plans.sort(() => Math.random() - 0.5);
    const expected = [...shuffled].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.item - b.item));
    const got = sortById([...shuffled]);
    expect(got.length).toBe(expected.length);
    // The first place they differ (a small failure message, not a diff of 55,000 rows).
    expect(got.findIndex((p, i) => p !== expected[i])).toBe(-1);
  });
});

describe('sortSmall', () => {
  it.each([0, 1, 5, 32, 33, 200])('sorts %i items stably, as Array.prototype.sort does', (n) => {
    // Few distinct keys, so that stability shows.
    const items = Array.from({ length: n }, (_, i) => ({ key: Math.floor(Math.random() * 5), i }));
    const cmp = (a: { key: number }, b: { key: number }): number => a.key - b.key;
    expect(sortSmall([...items], cmp)).toEqual([...items].sort(cmp));
  });
});

describe('sameIds', () => {
  const refs = new Map([['a', 1], ['b', 2], ['c', 3]]);
  it.each([
    [['a', 'b', 'c'], true],
    [['c', 'a', 'b', 'a'], true], // listed twice: the same set
    [['a', 'b'], false],
    [['a', 'b', 'b'], false], // as many as the keys, one missing
    [['a', 'b', 'c', 'd'], false],
    [[], false],
  ])('%j against the keys a, b, c: %s (as comparing their sets)', (ids, same) => {
    expect(sameIds(ids, refs)).toBe(same);
    const many = new Map(Array.from({ length: 40 }, (_, i) => [`id${i}`, i]));
    const listed = [...many.keys()];
    expect(sameIds(same ? [...listed, listed[3]!] : listed.slice(1), many)).toBe(same);
  });
});
