/** Assemble the server: core, handlers, watchdog, signals. */
import { Server, type ServerOptions } from './server.js';
import { registerLifecycle } from './handlers/lifecycle.js';
import { registerSession } from './handlers/session.js';
import { registerButler } from './handlers/butler.js';
import { registerDimensions } from './handlers/dimensions.js';
import { registerStore } from './handlers/store.js';
import { registerRepository } from './handlers/repository.js';
import { startWatchdog } from './watchdog.js';

export function startServer(options: ServerOptions & { bytesOut?: () => number }): Server {
  const server = new Server(options);
  if (options.bytesOut) {
    const read = options.bytesOut;
    Object.defineProperty(server.stats, 'bytesOut', { get: read, set: () => {} });
  }
  registerLifecycle(server);
  registerSession(server);
  registerButler(server);
  registerDimensions(server);
  registerStore(server);
  registerRepository(server);
  if (options.clientProcessId !== undefined) startWatchdog(options.clientProcessId, server);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => server.exit(1, `received ${signal}`));
  }
  server.listen();
  return server;
}
