/**
 * The zod-free half of `initialize`, shared by the lifecycle handler (handlers/lifecycle.ts)
 * and the CLI's start-up bundle (src/cli/front-door.ts), which answers a plain first
 * `initialize` before zod and the server are loaded:
 *
 * - `initializeResult`: the answer, built the one way both use, so their bytes are the same;
 * - `plainInitializeParams`: params that InitializeParamsSchema certainly accepts, with no
 *   effect but those `initialized` (handlers/lifecycle.ts) applies after the answer, or
 *   undefined. It errs on the side of undefined: anything else (an unsupported version,
 *   initializationOptions, trace, payloadEncodings, an unknown key, a value of another type)
 *   is left to the server, which validates it with the schema and answers it, errors included,
 *   as it always has.
 */
import { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../../../protocol/protocol-version.js';
import { BUILTIN_STORAGE_CLASS_NAMES } from '../../model/builtin-storage-class-names.js';
import { SIDECAR_NAME, SIDECAR_VERSION } from '../../version.js';

/** What of the params the answer and its effects depend on. */
export interface PlainInitializeParams {
  protocolVersion: string;
  processId?: number | null;
  clientInfo?: { name: string; version?: string };
  capabilities: { logMessages?: boolean; provenanceBatches?: boolean; provenanceRuns?: boolean };
}

/** How provenance events leave: one butler/provenance each, or a turn's as one butler/provenanceBatch or butler/provenanceRuns. */
export type ProvenanceForm = 'events' | 'batches' | 'runs';

/** The form a client's capabilities ask for (the compact one when it reads both). */
export function provenanceFormOf(capabilities: PlainInitializeParams['capabilities']): ProvenanceForm {
  return capabilities.provenanceRuns === true ? 'runs' : capabilities.provenanceBatches === true ? 'batches' : 'events';
}

/** What of the server's options the answer reports. */
export interface InitializeLimits {
  maxInlineBytes: number;
  maxSessions: number;
}

export function initializeResult(limits: InitializeLimits, provenanceForm: ProvenanceForm) {
  return {
    protocolVersion: PROTOCOL_VERSION,
    serverInfo: { name: SIDECAR_NAME, version: SIDECAR_VERSION },
    capabilities: {
      payloadEncodings: ['json' as const, 'text' as const, 'base64' as const, 'file' as const],
      maxInlineBytes: limits.maxInlineBytes,
      notificationStreams: ['provenance' as const, 'store' as const, 'progress' as const],
      workDoneProgress: true,
      cancellation: true,
      sessions: { maxConcurrent: limits.maxSessions, datastores: ['memory', 'file'] },
      // The built-ins' names, sorted as a registry lists them (without building one: its schemas are not needed yet).
      storageClasses: [...BUILTIN_STORAGE_CLASS_NAMES],
      provenanceFormats: ['native', 'daf_butler', 'prov', 'openlineage'],
      provenanceBatches: provenanceForm === 'batches',
      provenanceRuns: provenanceForm === 'runs',
    },
  };
}

/** The major versions `initialize` accepts. */
export function supportedFor(protocolVersion: string): string[] {
  const major = protocolVersion.split('.')[0];
  return SUPPORTED_PROTOCOL_VERSIONS.filter((v) => v.split('.')[0] === major);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const onlyKeys = (o: Record<string, unknown>, keys: readonly string[]): boolean => Object.keys(o).every((k) => keys.includes(k));
const PARAMS_KEYS = ['protocolVersion', 'processId', 'clientInfo', 'capabilities'] as const;
const CLIENT_INFO_KEYS = ['name', 'version'] as const;
/** The capabilities this check knows (payloadEncodings is left to the schema). */
const BOOLEAN_CAPABILITIES = ['workDoneProgress', 'logMessages', 'provenanceBatches', 'provenanceRuns'] as const;

/** `params` when they are plainly valid (see the module comment), else undefined. */
export function plainInitializeParams(params: unknown): PlainInitializeParams | undefined {
  if (!isObject(params) || !onlyKeys(params, PARAMS_KEYS)) return undefined;
  const { protocolVersion, processId, clientInfo, capabilities } = params;
  if (typeof protocolVersion !== 'string' || !/^\d+\.\d+$/.test(protocolVersion) || supportedFor(protocolVersion).length === 0) return undefined;
  if (processId !== undefined && processId !== null && !(Number.isSafeInteger(processId) && (processId as number) > 0)) return undefined;
  if (clientInfo !== undefined) {
    if (!isObject(clientInfo) || !onlyKeys(clientInfo, CLIENT_INFO_KEYS) || typeof clientInfo['name'] !== 'string') return undefined;
    if (clientInfo['version'] !== undefined && typeof clientInfo['version'] !== 'string') return undefined;
  }
  if (capabilities !== undefined) {
    if (!isObject(capabilities)) return undefined;
    for (const [key, value] of Object.entries(capabilities)) {
      // The schema lets other capabilities through unread: scalars only, so no depth limit applies.
      const known = (BOOLEAN_CAPABILITIES as readonly string[]).includes(key);
      if (known ? typeof value !== 'boolean' : key === 'payloadEncodings' || (isObject(value) || Array.isArray(value))) return undefined;
    }
  }
  const plain = params as unknown as PlainInitializeParams;
  return capabilities === undefined ? { ...plain, capabilities: {} } : plain;
}
