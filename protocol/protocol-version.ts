/**
 * The protocol's version and the versions this sidecar speaks: plain constants, without zod,
 * so that the CLI's start-up bundle (src/cli/startup.ts) can answer `initialize` without it.
 */
export const PROTOCOL_VERSION = '1.0';
export const SUPPORTED_PROTOCOL_VERSIONS = ['1.0'] as const;
