export { QuantumButlerClient, QuantumButlerError, defaultCliPath, type SpawnOptions } from './client.js';
export { ButlerSession } from './session.js';
export { defaultNodeBinary } from './node-binary.js';
export { EXTRA_CA_CERTS_VAR, sidecarEnv } from './sidecar-env.js';
export * from '../../protocol/index.js';
export { SessionStore } from './store.js';
