/** initialize / initialized / shutdown / exit, server/ping, server/stats, $/setTrace. */
import {
  CancelRequest,
  Exit,
  Initialize,
  Initialized,
  LogMessage,
  Ping,
  SUPPORTED_PROTOCOL_VERSIONS,
  SetTrace,
  Shutdown,
  Stats,
} from '../../../protocol/lifecycle.js';
import { initializeResult, provenanceFormOf, supportedFor, type PlainInitializeParams } from './initialize.js';
import { rpcError } from '../errors.js';
import type { Server } from '../server.js';
import { startWatchdog } from '../watchdog.js';

/**
 * What a valid `initialize` does to the server, once it is answered or as it is (the
 * handler below, or src/server/start.ts for one the CLI's start-up bundle answered).
 */
export function initialized(server: Server, params: PlainInitializeParams): void {
  if (params.capabilities.logMessages) {
    server.logger.forwardTo((type, message) => server.notify(LogMessage, { type, message }));
  }
  server.setProvenanceForm(provenanceFormOf(params.capabilities));
  if (typeof params.processId === 'number') startWatchdog(params.processId, server);
  server.state = 'initialized';
  server.logger.info('initialized', { client: params.clientInfo?.name, protocolVersion: params.protocolVersion });
}

export function registerLifecycle(server: Server): void {
  server.handle(
    Initialize,
    (params) => {
      if (server.state !== 'uninitialized') throw rpcError('AlreadyInitialized', 'initialize may be sent only once.');
      if (supportedFor(params.protocolVersion).length === 0) {
        throw rpcError('UnsupportedProtocolVersion', `Protocol version ${params.protocolVersion} is not supported.`, {
          supported: [...SUPPORTED_PROTOCOL_VERSIONS],
        });
      }
      if (params.initializationOptions?.logLevel) server.logger.setLevel(params.initializationOptions.logLevel);
      if (params.trace) server.trace = params.trace;
      initialized(server, params);
      return initializeResult(server.options, provenanceFormOf(params.capabilities));
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
