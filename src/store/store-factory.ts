/** Opening a store from a declarative spec (configuration files, RPC parameters). */
import * as z from 'zod';
import { InvalidArgument } from '../model/errors.js';
import type { StoreOptions } from './base-store.js';
import { FileStore } from './file-store.js';
import { MemoryStore } from './memory-store.js';
import { MountedStore } from './mounted-store.js';
import type { Store } from './store.js';

export type StoreSpec =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'file'; path: string }
  | { kind: 'mounted'; prefix: string; mount: StoreSpec; over: StoreSpec };

const Path = z.string().min(1).describe("a filesystem path (sqlite also accepts ':memory:')");

export const StoreSpecSchema: z.ZodType<StoreSpec> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('memory') }),
    z.strictObject({ kind: z.literal('sqlite'), path: Path }),
    z.strictObject({ kind: z.literal('file'), path: Path }),
    z.strictObject({
      kind: z.literal('mounted'),
      prefix: z.string().describe('key prefix the mount store is mounted at, usually ending in "/"'),
      mount: StoreSpecSchema,
      over: StoreSpecSchema,
    }),
  ]),
);

/**
 * Opens (creating if needed) the store a spec describes. A mounted store owns the two
 * stores it opens and closes them with itself. Throws InvalidArgument for a bad spec.
 */
export async function openStore(spec: StoreSpec, options: StoreOptions = {}): Promise<Store> {
  const parsed = StoreSpecSchema.safeParse(spec);
  if (!parsed.success) {
    throw new InvalidArgument(`invalid store spec: ${z.prettifyError(parsed.error)}`, { details: { issues: parsed.error.issues } });
  }
  return open(parsed.data, options);
}

async function open(spec: StoreSpec, options: StoreOptions): Promise<Store> {
  switch (spec.kind) {
    case 'memory':
      return new MemoryStore(options);
    case 'sqlite': {
      // Imported on first use: better-sqlite3 (a native module) is not loaded at start.
      const { SqliteStore } = await import('./sqlite-store.js');
      return new SqliteStore(spec.path, options);
    }
    case 'file':
      return new FileStore(spec.path, options);
    case 'mounted': {
      const mount = await open(spec.mount, options);
      let over: Store;
      try {
        over = await open(spec.over, options);
      } catch (err) {
        void mount.close();
        throw err;
      }
      return new MountedStore(spec.prefix, mount, over, options);
    }
  }
}
