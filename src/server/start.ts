/** Assemble the server: core, handlers, watchdog, and the process-level ways out. */
import { Server, type ServerOptions } from './server.js';
import { initialized, registerLifecycle } from './handlers/lifecycle.js';
import type { PlainInitializeParams } from './handlers/initialize.js';
import { startWatchdog } from './watchdog.js';

/** Exit code of an uncaught exception or unhandled rejection (sysexits' EX_SOFTWARE). */
export const EXIT_INTERNAL_ERROR = 70;

/**
 * An `initialize` the CLI's start-up bundle has read and answered already (src/cli/front-door.ts):
 * its params, the bytes of its frame and how long it took.
 */
export interface AnsweredInitialize {
  params: PlainInitializeParams;
  frameBytes: number;
  ms: number;
}

export function startServer(options: ServerOptions & { bytesOut?: () => number }, answered?: AnsweredInitialize): Server {
  const server = new Server(options);
  if (options.bytesOut) {
    const read = options.bytesOut;
    Object.defineProperty(server.stats, 'bytesOut', { get: read, set: () => {} });
  }
  registerLifecycle(server);
  if (answered) {
    // As if the server had read and answered it: its effects, and its count in server/stats.
    server.stats.bytesIn += answered.frameBytes;
    server.stats.record('initialize', answered.ms, false);
    initialized(server, answered.params);
  }
  // The other families load on their first request (src/server/lazy-families.ts).
  server.families.add('session/', async () => (await import('./handlers/session.js')).registerSession(server));
  server.families.add('butler/', async () => {
    const [butler, dimensions] = await Promise.all([import('./handlers/butler.js'), import('./handlers/dimensions.js')]);
    butler.registerButler(server);
    dimensions.registerDimensions(server);
  });
  server.families.add('store/', async () => (await import('./handlers/store.js')).registerStore(server));
  server.families.add('repository/', async () => (await import('./handlers/repository.js')).registerRepository(server));
  if (options.clientProcessId !== undefined) startWatchdog(options.clientProcessId, server);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => server.exit(1, `received ${signal}`));
  }
  // A bug must not cost the host its provenance: log it, then leave the usual way.
  const internal = (what: string) => (err: unknown) => {
    server.logger.error(`${what}: ${err instanceof Error ? err.message : String(err)}`, { stack: (err as Error)?.stack });
    server.exit(EXIT_INTERNAL_ERROR, what);
  };
  process.on('uncaughtException', internal('uncaught exception'));
  process.on('unhandledRejection', internal('unhandled promise rejection'));
  server.listen();
  return server;
}
