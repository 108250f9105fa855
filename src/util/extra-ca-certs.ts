/**
 * The certificate authorities a TLS connection of the sidecar (to a PostgreSQL registry)
 * trusts when our clients spawned it. They move NODE_EXTRA_CA_CERTS to
 * QUANTUM_BUTLER_EXTRA_CA_CERTS (src/client/sidecar-env.ts), because Node 20 reads that file
 * into its root store as the process starts; here it is read on the first connection instead.
 * A `ca` list replaces Node's default store, so the list is what that store would have held:
 * Node's bundled roots, the moved file, and NODE_EXTRA_CA_CERTS's file too if it is still set.
 * A file that cannot be read is skipped with a warning, as Node does with NODE_EXTRA_CA_CERTS.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

export const EXTRA_CA_CERTS_VAR = 'QUANTUM_BUTLER_EXTRA_CA_CERTS';

const lists = new Map<string, readonly string[]>();

/** The CA list for a TLS connection without a `ca` of its own; undefined when the variable is unset (Node's default store is right). */
export function extraCaCertificates(env: NodeJS.ProcessEnv = process.env): readonly string[] | undefined {
  const moved = env[EXTRA_CA_CERTS_VAR];
  if (!moved) return undefined;
  const files = [...new Set([moved, env['NODE_EXTRA_CA_CERTS']].filter((f): f is string => !!f))];
  const key = files.join('\n');
  let list = lists.get(key);
  if (!list) {
    const certs = [...rootCertificates];
    for (const file of files) {
      try {
        certs.push(readFileSync(file, 'utf8'));
      } catch (err) {
        process.emitWarning(`Ignoring extra certs from ${file} (${file === moved ? EXTRA_CA_CERTS_VAR : 'NODE_EXTRA_CA_CERTS'}), load failed: ${(err as Error).message}`);
      }
    }
    lists.set(key, (list = certs));
  }
  return list;
}
