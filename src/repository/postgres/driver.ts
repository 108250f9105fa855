/**
 * node-postgres and pg-copy-streams, loaded on first use: a sidecar that never opens a
 * PostgreSQL registry never loads them (the bundled CLI keeps them external, and a static
 * import would load them at start). With them, the two parts of node-postgres that read a
 * connection's settings (tls.ts), which node-postgres has loaded already.
 */
import type pg from 'pg';
import type { from as copyFromFn } from 'pg-copy-streams';
import type { parse as parseFn } from 'pg-connection-string';
import type ConnectionParametersClass from 'pg/lib/connection-parameters';

export interface Driver {
  pg: typeof pg;
  copyFrom: typeof copyFromFn;
  parseUrl: typeof parseFn;
  ConnectionParameters: typeof ConnectionParametersClass;
}

let loading: Promise<Driver> | undefined;

const main = <T>(m: unknown): T => ((m as { default?: T }).default ?? m) as T;

export function loadDriver(): Promise<Driver> {
  return (loading ??= Promise.all([import('pg'), import('pg-copy-streams'), import('pg-connection-string'), import('pg/lib/connection-parameters')]).then(
    ([p, c, s, cp]) => ({
      pg: main<typeof pg>(p),
      copyFrom: main<{ from: typeof copyFromFn }>(c).from,
      parseUrl: (s as { parse: typeof parseFn }).parse,
      ConnectionParameters: main<typeof ConnectionParametersClass>(cp),
    }),
  ));
}
