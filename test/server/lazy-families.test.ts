/** Method families loaded on first use: messages keep their arrival order while one loads. */
import { describe, expect, it } from 'vitest';
import { LazyFamilies } from '../../src/server/lazy-families.js';

/** A load that finishes only when `finish` is called, so the test sees it under way. */
function gated(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    load: async () => {
      log.push(`load ${name}`);
      await done;
      log.push(`${name} loaded`);
    },
    finish: () => finish(),
  };
}

describe('LazyFamilies', () => {
  it('holds every later message while a family loads, then runs them in arrival order', async () => {
    const log: string[] = [];
    const families = new LazyFamilies();
    const session = gated(log, 'session');
    const butler = gated(log, 'butler');
    families.add('session/', session.load);
    families.add('butler/', butler.load);
    const handled = (m: string) => () => {
      log.push(m);
      return m;
    };
    const results = [
      families.run('session/open', handled('session/open')),
      families.run('server/ping', handled('server/ping')), // no family, but it came later
      families.run('butler/put', handled('butler/put')),
      families.run('session/close', handled('session/close')),
    ];
    await new Promise((resolve) => setTimeout(resolve, 10));
    // The session family is loading: nothing after it has run, nor has the butler family begun.
    expect(log).toEqual(['load session']);
    session.finish();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(log).toEqual(['load session', 'session loaded', 'session/open', 'server/ping', 'load butler']);
    butler.finish();
    expect(await Promise.all(results)).toEqual(['session/open', 'server/ping', 'butler/put', 'session/close']);
    expect(log).toEqual(['load session', 'session loaded', 'session/open', 'server/ping', 'load butler', 'butler loaded', 'butler/put', 'session/close']);
    // Loaded: handled at once, each family loaded once.
    expect(families.run('butler/get', () => 'now')).toBe('now');
    expect(log.filter((l) => l.startsWith('load'))).toEqual(['load session', 'load butler']);
  });

  it('runs messages at once when nothing loads', () => {
    const families = new LazyFamilies();
    families.add('store/', async () => {});
    expect(families.run('initialize', () => 1)).toBe(1);
    expect(families.run('storeX', () => 2)).toBe(2); // a prefix is a whole segment's start, "store/"
  });

  it('fails the message whose family failed to load, runs those that waited, and tries the family again', async () => {
    const families = new LazyFamilies();
    let loads = 0;
    families.add('store/', () => {
      loads++;
      return Promise.reject(new Error('cannot load'));
    });
    const first = families.run('store/get', () => 'never');
    const later = families.run('server/ping', () => 'ping');
    await expect(first).rejects.toThrow('cannot load');
    await expect(later).resolves.toBe('ping');
    await expect(families.run('store/set', () => 'never')).rejects.toThrow('cannot load');
    expect(loads).toBe(2);
  });
});
