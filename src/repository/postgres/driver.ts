/**
 * node-postgres and pg-copy-streams, loaded on first use: a sidecar that never opens a
 * PostgreSQL registry never loads them (the bundled CLI keeps them external, and a static
 * import would load them at start).
 */
import type pg from 'pg';
import type { from as copyFromFn } from 'pg-copy-streams';

export interface Driver {
  pg: typeof pg;
  copyFrom: typeof copyFromFn;
}

let loading: Promise<Driver> | undefined;

export function loadDriver(): Promise<Driver> {
  return (loading ??= Promise.all([import('pg'), import('pg-copy-streams')]).then(([p, c]) => {
    const pgModule = ((p as { default?: typeof pg }).default ?? p) as typeof pg;
    const copy = ((c as { default?: { from: typeof copyFromFn } }).default ?? c) as { from: typeof copyFromFn };
    return { pg: pgModule, copyFrom: copy.from };
  }));
}
