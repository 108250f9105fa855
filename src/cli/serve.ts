/** Server mode (the default), as `cli()` runs it: the server on stdin/stdout behind the stdout guard. */
import * as guard from '../stdout-guard.js';
import { startServer } from '../server/start.js';
import type { Values } from './options.js';
import { TTY_HINT, serverOptions, serverSettings } from './serve-options.js';

export { SERVE_HELP, SERVE_OPTIONS, TTY_HINT } from './serve-options.js';

/** Start the server with the parsed options; usage errors throw UsageError. */
export function serve(values: Values): void {
  const options = serverOptions(serverSettings(values), guard);
  if (process.stdin.isTTY) process.stderr.write(TTY_HINT);
  startServer(options);
}
