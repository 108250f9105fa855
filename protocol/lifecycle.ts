/** LSP-style lifecycle: initialize, initialized, shutdown, exit; plus server/ping and server/stats. */
import * as z from 'zod';
import { notification, notification0, request, request0 } from './define.js';
import { PayloadEncodingSchema } from './payload-encoding.js';

export { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from './protocol-version.js';

export const NotificationStreamSchema = z.enum(['provenance', 'store', 'progress']);
export type NotificationStream = z.infer<typeof NotificationStreamSchema>;

export const TraceValueSchema = z.enum(['off', 'messages', 'compact', 'verbose']);
export const LogLevelSchema = z.enum(['error', 'warning', 'info', 'log', 'debug']);

export const InitializeParamsSchema = z.object({
  protocolVersion: z.string().regex(/^\d+\.\d+$/, 'protocolVersion must be "MAJOR.MINOR"'),
  processId: z.number().int().positive().nullish().describe('If given and that process dies, the sidecar exits'),
  clientInfo: z.object({ name: z.string(), version: z.string().optional() }).optional(),
  capabilities: z
    .object({
      workDoneProgress: z.boolean().optional(),
      logMessages: z.boolean().optional().describe('Send window/logMessage for warnings and errors'),
      payloadEncodings: z.array(PayloadEncodingSchema).optional(),
      provenanceBatches: z
        .boolean()
        .optional()
        .describe('The client reads butler/provenanceBatch: the provenance events written together arrive as one notification'),
      provenanceRuns: z
        .boolean()
        .optional()
        .describe('The client reads butler/provenanceRuns: the provenance events written together arrive as one notification in the compact form (takes precedence over provenanceBatches)'),
    })
    .loose()
    .default({}),
  initializationOptions: z.object({ logLevel: LogLevelSchema.optional() }).loose().optional(),
  trace: TraceValueSchema.optional(),
});

export const ServerCapabilitiesSchema = z.object({
  payloadEncodings: z.array(PayloadEncodingSchema),
  maxInlineBytes: z.number().int(),
  notificationStreams: z.array(NotificationStreamSchema),
  workDoneProgress: z.boolean(),
  cancellation: z.boolean(),
  sessions: z.object({ maxConcurrent: z.number().int(), datastores: z.array(z.string()) }),
  storageClasses: z.array(z.string()),
  provenanceFormats: z.array(z.string()),
  provenanceBatches: z.boolean().describe('Provenance events are sent as butler/provenanceBatch (the client asked for it, and not for provenanceRuns)'),
  provenanceRuns: z.boolean().describe('Provenance events are sent as butler/provenanceRuns (the client asked for it)'),
});

export const InitializeResultSchema = z.object({
  protocolVersion: z.string(),
  serverInfo: z.object({ name: z.string(), version: z.string() }),
  capabilities: ServerCapabilitiesSchema,
});

export const Initialize = request(
  'initialize',
  InitializeParamsSchema,
  InitializeResultSchema,
  'First request: negotiates the protocol version and capabilities.',
);
/** Params of methods that take none: absent, null or an empty object are all accepted. */
export const NoParamsSchema = z.union([z.null(), z.object({}).loose()]).optional();

export const Initialized = notification('initialized', NoParamsSchema, 'in', 'Client is ready.');
export const Shutdown = request0(
  'shutdown',
  NoParamsSchema,
  z.null(),
  'Closes every session; afterwards every request gets -32600. The process keeps running until exit.',
);
export const Exit = notification0('exit', NoParamsSchema, 'in', 'Exit: code 0 after shutdown, else 1.');

export const Ping = request0(
  'server/ping',
  NoParamsSchema,
  z.object({ uptimeMs: z.number(), time: z.string() }),
  'Liveness check.',
);

export const MethodStatsSchema = z.object({
  count: z.number().int(),
  errors: z.number().int(),
  meanMs: z.number(),
  p50Ms: z.number(),
  p99Ms: z.number(),
  maxMs: z.number(),
});

export const Stats = request0(
  'server/stats',
  NoParamsSchema,
  z.object({
    uptimeMs: z.number(),
    requests: z.number().int(),
    errors: z.number().int(),
    notificationsSent: z.number().int(),
    bytesIn: z.number().int(),
    bytesOut: z.number().int(),
    sessions: z.number().int(),
    rssBytes: z.number().int(),
    heapUsedBytes: z.number().int(),
    methods: z.record(z.string(), MethodStatsSchema),
  }),
  'Counters: requests, errors, bytes in/out, sessions, memory, per-method latency.',
);

export const SetTrace = notification('$/setTrace', z.object({ value: TraceValueSchema }), 'in', 'Set the trace level.');
export const LogTrace = notification(
  '$/logTrace',
  z.object({ message: z.string(), verbose: z.string().optional() }),
  'out',
  'Application trace (one line per handled request) while trace is not off.',
);
export const LogMessage = notification(
  'window/logMessage',
  z.object({ type: z.number().int().min(1).max(5), message: z.string() }),
  'out',
  'Log message for the user (1 error, 2 warning, 3 info, 4 log, 5 debug).',
);
export const CancelRequest = notification(
  '$/cancelRequest',
  z.object({ id: z.union([z.number().int(), z.string()]) }),
  'in',
  'Cancel a request; it answers -32800.',
);
