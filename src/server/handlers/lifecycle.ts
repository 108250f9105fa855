/** initialize / initialized / shutdown / exit, server/ping, server/stats, $/setTrace. */
import {
  CancelRequest,
  Exit,
  Initialize,
  Initialized,
  LogMessage,
  PROTOCOL_VERSION,
  Ping,
  SUPPORTED_PROTOCOL_VERSIONS,
  SetTrace,
  Shutdown,
  Stats,
} from '../../../protocol/lifecycle.js';
import { BUILTIN_STORAGE_CLASSES } from '../../model/builtin-storage-classes.js';
import { SIDECAR_NAME, SIDECAR_VERSION } from '../../version.js';
import { rpcError } from '../errors.js';
import type { Server } from '../server.js';
import { startWatchdog } from '../watchdog.js';

export function registerLifecycle(server: Server): void {
  server.handle(
    Initialize,
    (params) => {
      if (server.state !== 'uninitialized') throw rpcError('AlreadyInitialized', 'initialize may be sent only once.');
      const major = params.protocolVersion.split('.')[0];
      const supported = SUPPORTED_PROTOCOL_VERSIONS.filter((v) => v.split('.')[0] === major);
      if (supported.length === 0) {
        throw rpcError('UnsupportedProtocolVersion', `Protocol version ${params.protocolVersion} is not supported.`, {
          supported: [...SUPPORTED_PROTOCOL_VERSIONS],
        });
      }
      if (params.initializationOptions?.logLevel) server.logger.setLevel(params.initializationOptions.logLevel);
      if (params.trace) server.trace = params.trace;
      if (params.capabilities.logMessages) {
        server.logger.forwardTo((type, message) => server.notify(LogMessage, { type, message }));
      }
      if (params.capabilities.provenanceBatches === true) server.batchProvenance();
      if (typeof params.processId === 'number') startWatchdog(params.processId, server);
      server.state = 'initialized';
      server.logger.info('initialized', { client: params.clientInfo?.name, protocolVersion: params.protocolVersion });
      return {
        protocolVersion: PROTOCOL_VERSION,
        serverInfo: { name: SIDECAR_NAME, version: SIDECAR_VERSION },
        capabilities: {
          payloadEncodings: ['json' as const, 'text' as const, 'base64' as const, 'file' as const],
          maxInlineBytes: server.options.maxInlineBytes,
          notificationStreams: ['provenance' as const, 'store' as const, 'progress' as const],
          workDoneProgress: true,
          cancellation: true,
          sessions: { maxConcurrent: server.options.maxSessions, datastores: ['memory', 'file'] },
          // The built-ins' names, sorted as a registry lists them (without building one: its schemas are not needed yet).
          storageClasses: BUILTIN_STORAGE_CLASSES.map((sc) => sc.name).sort(),
          provenanceFormats: ['native', 'daf_butler', 'prov', 'openlineage'],
          provenanceBatches: params.capabilities.provenanceBatches === true,
        },
      };
    },
    { allowUninitialized: true, jitless: true },
  );

  server.onNotification(Initialized, () => server.logger.debug('client initialized'));

  server.handle(Shutdown, async () => {
    server.state = 'shutdown';
    await server.closeAllSessions();
    return null;
  });

  server.onNotification(Exit, () => server.exit(server.state === 'shutdown' ? 0 : 1, 'exit notification'));
  server.onNotification(SetTrace, (p) => (server.trace = p.value));
  // The connection handles $/cancelRequest itself (it never reaches notification handlers).
  void CancelRequest;

  server.handle(Ping, () => ({ uptimeMs: Date.now() - server.stats.startedAt, time: new Date().toISOString() }));

  server.handle(Stats, () => {
    const mem = process.memoryUsage();
    return {
      uptimeMs: Date.now() - server.stats.startedAt,
      requests: server.stats.requests,
      errors: server.stats.errors,
      notificationsSent: server.stats.notificationsSent,
      bytesIn: server.stats.bytesIn,
      bytesOut: server.stats.bytesOut,
      sessions: server.sessions.size,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      methods: server.stats.methodSummary(),
    };
  });
}
