/**
 * What the serving path reads of Node's globals, read once. Node 20 defines `Buffer` and
 * `process` on globalThis as accessors: optimised code reads such a global through the engine's
 * generic global load and calls its getter (~150 instructions, callgrind) at every use. And
 * `process` keeps its properties in a dictionary, so `process.nextTick` is a generic lookup
 * (~90) at every call, where a function held in a variable is called straight.
 *
 * The CLI's bundles inject `Buffer` and `process` from here in place of the globals
 * (scripts/bundle-cli.ts, esbuild's `inject`); the hot paths import `nextTick` and
 * `hrtimeBigint`.
 */
export const Buffer: typeof globalThis.Buffer = globalThis.Buffer;
export const process: NodeJS.Process = globalThis.process;
/** process.nextTick, which uses no `this`. */
export const nextTick: typeof process.nextTick = process.nextTick;
/** process.hrtime.bigint, which uses no `this`. */
export const hrtimeBigint: () => bigint = process.hrtime.bigint;
