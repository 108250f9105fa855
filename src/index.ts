/** Library entry: the domain layers, for embedding without the sidecar. */
export * from './model/index.js';
export { QuantumBackedButler } from './butler/quantum-backed-butler.js';
export { MemoryDatastore } from './datastore/memory-datastore.js';
export type { Store } from './store/store.js';
