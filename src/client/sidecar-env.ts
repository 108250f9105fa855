// The environment our clients give the sidecar. Node 20 builds its whole root certificate
// store, with every certificate of the file NODE_EXTRA_CA_CERTS names, as the process starts
// (about 100 ms of CPU for a system bundle), though the sidecar makes a TLS connection only to
// a PostgreSQL registry, if at all. So the variable is moved to QUANTUM_BUTLER_EXTRA_CA_CERTS,
// whose certificates the sidecar adds when it makes its first TLS connection
// (src/util/extra-ca-certs.ts): trusted as before, paid for only when used. The rule is left
// alone when QUANTUM_BUTLER_EXTRA_CA_CERTS names another file already: Node then loads
// NODE_EXTRA_CA_CERTS at start as it would without us, and the sidecar adds both.

export const EXTRA_CA_CERTS_VAR = 'QUANTUM_BUTLER_EXTRA_CA_CERTS';

/** A copy of `env` with NODE_EXTRA_CA_CERTS moved to QUANTUM_BUTLER_EXTRA_CA_CERTS (which the sidecar reads at its first TLS connection). */
export function sidecarEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: file, ...rest } = env;
  const ours = env[EXTRA_CA_CERTS_VAR];
  if (!file || (ours && ours !== file)) return { ...env };
  return { ...rest, [EXTRA_CA_CERTS_VAR]: file };
}
