/**
 * The CLI's start-up bundle (dist/src/cli.start.cjs, scripts/bundle-cli.ts): what runs first.
 * Server mode (no command, no --help or --version, options that parse) starts here, with
 * the front door (src/cli/front-door.ts) answering a plain first `initialize` before the main
 * bundle (zod, vscode-jsonrpc, the server, every command) is loaded; everything else, and any
 * command line this does not plainly accept, goes to the main bundle's `cli()` as it is, which
 * runs it (usage errors included) as it always has. Nothing here touches stdout before that
 * choice: the stdout guard is loaded by the one that serves.
 */
import { parseArgs } from 'node:util';
import type { ServerModule } from './front-door.js';
import type { Values } from './options.js';
import { SERVE_OPTIONS, serverSettings } from './serve-options.js';

/** What the main bundle (src/cli/load-bundle.ts) gives the start-up bundle. */
export interface MainBundle {
  cli(): Promise<unknown>;
  server(): ServerModule;
}

/** The parsed server options, if `argv` plainly asks to serve with options that are valid; else undefined. */
export function plainServeOptions(argv: readonly string[]): Values | undefined {
  if (argv.some((a) => !a.startsWith('--') || a === '--help' || a === '--version')) return undefined;
  try {
    const values = parseArgs({ args: [...argv], options: SERVE_OPTIONS, allowPositionals: false, strict: true }).values as Values;
    serverSettings(values);
    return values;
  } catch {
    return undefined; // the main bundle says what is wrong, as it always has
  }
}

export function start(main: () => MainBundle): void {
  const values = plainServeOptions(process.argv.slice(2));
  if (values === undefined) {
    void main().cli();
    return;
  }
  // No top-level await: this module runs inside a CommonJS bundle.
  void import('./front-door.js').then(({ serveFromFrontDoor }) => serveFromFrontDoor(values, () => main().server()));
}
