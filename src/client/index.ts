export { QuantumButlerClient, QuantumButlerError, defaultCliPath, type SpawnOptions } from './client.js';
export { ButlerSession } from './session.js';
export { defaultNodeBinary } from './node-binary.js';
export * from '../../protocol/index.js';
export { SessionStore } from './store.js';
