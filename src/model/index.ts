/** The pure model layer: ids, data IDs, dataset types, refs, storage classes, records, quanta. */
export * from './errors.js';
export * from './json-value.js';
export * from './dataset-id.js';
export * from './dimensions/index.js';
export * from './data-coordinate.js';
export * from './dataset-type.js';
export * from './dataset-ref.js';
export * from './datastore-records.js';
export * from './quantum.js';
export * from './storage-kinds.js';
export * from './storage-class.js';
export * from './builtin-storage-classes.js';
