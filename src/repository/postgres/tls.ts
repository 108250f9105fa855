/**
 * The registry pool's TLS trust when our clients moved NODE_EXTRA_CA_CERTS out of the way
 * (src/util/extra-ca-certs.ts): a TLS connection that names no CA of its own trusts Node's
 * bundled roots plus the moved certificates, as it would have with NODE_EXTRA_CA_CERTS.
 *
 * How node-postgres 8.23.1 settles `ssl` (pg/lib/connection-parameters.js): a URL that says
 * anything of TLS (sslmode, sslrootcert, sslcert, sslkey, ssl) replaces the config's `ssl`
 * whole (the parsed URL is assigned over the config); otherwise the config's `ssl` holds;
 * without one, PGSSLMODE decides. sslrootcert= becomes `ca`: that file only is trusted
 * (libpq's rule, and Node ignores its default store then), so nothing is added to it.
 * Here the URL is parsed as node-postgres parses it, merged the same way, and `ssl` settled
 * by node-postgres itself; a TLS `ssl` without `ca` gets one secure context, made once per
 * pool, holding the list (a `ca` list given to each connection would be parsed each time).
 */
import type pg from 'pg';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import type { Driver } from './driver.js';
import { extraCaCertificates } from '../../util/extra-ca-certs.js';

/** `config` for the pool, with the moved certificates where a TLS connection would have had them; `config` itself when nothing changes. */
export function withExtraCaCertificates(config: pg.PoolConfig & { connectionString: string }, driver: Pick<Driver, 'parseUrl' | 'ConnectionParameters'>, env: NodeJS.ProcessEnv = process.env): pg.PoolConfig {
  const ca = extraCaCertificates(env);
  if (!ca) return config;
  const { connectionString, ...rest } = config;
  try {
    const merged: pg.PoolConfig = { ...rest, ...(driver.parseUrl(connectionString) as pg.PoolConfig) };
    const ssl: boolean | ConnectionOptions | undefined = new driver.ConnectionParameters({ ...merged }).ssl;
    if (!ssl || (ssl !== true && (ssl.ca !== undefined || ssl.secureContext !== undefined))) return config;
    // node-postgres hides `key` from enumeration; pass it on as its connection does.
    const options: ConnectionOptions = ssl === true ? {} : { ...ssl, ...('key' in ssl ? { key: ssl.key } : {}) };
    return { ...merged, ssl: { ...options, secureContext: createSecureContext({ ...options, ca: [...ca] }) } };
  } catch {
    return config; // a URL, key or certificate node-postgres or Node rejects: they say so when the pool connects
  }
}
