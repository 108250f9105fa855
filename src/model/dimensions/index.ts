/** Dimension universes: elements, groups, configs and daf_butler's default universe. */
export * from './dimension-config.js';
export * from './dimension-element.js';
export * from './dimension-group.js';
export * from './dimension-universe.js';
export * from './default-universe.js';
