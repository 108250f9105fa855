export { QuantumButlerClient, QuantumButlerError, defaultCliPath, type SpawnOptions } from './client.js';
export { ButlerSession } from './session.js';
export * from '../../protocol/index.js';
export { SessionStore } from './store.js';
