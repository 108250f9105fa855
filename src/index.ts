/** Library entry: the domain layers, for embedding without the sidecar. */
export * from './model/index.js';
export { QuantumBackedButler } from './butler/quantum-backed-butler.js';
export { MemoryDatastore } from './datastore/memory-datastore.js';
export type { Store } from './store/store.js';
export { renderProvenanceReport, REPORT_COLOURS, type ReportDocument, type ReportOptions } from './report/html-report.js';
