/**
 * A repository's configuration file (`<root>/butler.json`): datastore template and
 * checksum policy, storage classes defined for this repository, the dimensions dataset
 * types may use, and where its registry lives (absent: the SQLite file beside it).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_TEMPLATE, validateTemplate } from '../datastore/location-template.js';
import { InvalidArgument, RepositoryError } from '../model/errors.js';

export const CONFIG_FILE = 'butler.json';
export const REGISTRY_FILE = 'registry.sqlite3';
export const DATASTORE_DIR = 'datastore';

export const DEFAULT_DIMENSIONS: Record<string, { requires: string[] }> = {
  instrument: { requires: [] },
  detector: { requires: ['instrument'] },
  physical_filter: { requires: ['instrument'] },
  band: { requires: [] },
  exposure: { requires: ['instrument'] },
  visit: { requires: ['instrument'] },
  day_obs: { requires: ['instrument'] },
  skymap: { requires: [] },
  tract: { requires: ['skymap'] },
  patch: { requires: ['skymap', 'tract'] },
};

/** A registry on a PostgreSQL server: its URL (never with a password) and the schema holding its tables. */
export const PostgresRegistryConfigSchema = z.object({
  kind: z.literal('postgresql'),
  url: z.string().min(1),
  schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier').default('quantum_butler'),
});
export const RegistryConfigSchema = z.discriminatedUnion('kind', [z.object({ kind: z.literal('sqlite') }), PostgresRegistryConfigSchema]);
export type RegistryConfig = z.output<typeof RegistryConfigSchema>;
export type PostgresRegistryConfig = z.output<typeof PostgresRegistryConfigSchema>;

export const RepositoryConfigSchema = z.object({
  version: z.literal(1).default(1),
  datastore: z
    .object({
      template: z.string().default(DEFAULT_TEMPLATE),
      // blake2b: daf_butler's record checksum. sha256: what repositories used before (kept for them).
      checksum: z.enum(['blake2b', 'sha256', 'none']).default('blake2b'),
    })
    .default({ template: DEFAULT_TEMPLATE, checksum: 'blake2b' }),
  storageClasses: z.record(z.string(), z.unknown()).default({}),
  dimensions: z.record(z.string(), z.object({ requires: z.array(z.string()).default([]) })).default(DEFAULT_DIMENSIONS),
  /** Absent for the SQLite file beside butler.json (`registry.sqlite3`). */
  registry: PostgresRegistryConfigSchema.optional(),
});
export type RepositoryConfig = z.output<typeof RepositoryConfigSchema>;
export type RepositoryConfigInput = z.input<typeof RepositoryConfigSchema>;

export function parseRepositoryConfig(input: unknown): RepositoryConfig {
  const parsed = RepositoryConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new InvalidArgument(`Invalid repository config: ${z.prettifyError(parsed.error)}`, { details: { issues: parsed.error.issues } });
  }
  validateTemplate(parsed.data.datastore.template);
  for (const [name, dim] of Object.entries(parsed.data.dimensions)) {
    for (const r of dim.requires) {
      if (!(r in parsed.data.dimensions)) throw new InvalidArgument(`Dimension ${name} requires unknown dimension ${r}.`);
    }
  }
  return parsed.data;
}

export function readRepositoryConfig(root: string): RepositoryConfig {
  let text: string;
  try {
    text = readFileSync(join(root, CONFIG_FILE), 'utf8');
  } catch (err) {
    throw new RepositoryError(`${root} is not a repository: cannot read ${CONFIG_FILE} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`, {
      details: { root },
    });
  }
  try {
    return parseRepositoryConfig(JSON.parse(text));
  } catch (err) {
    throw new RepositoryError(`${join(root, CONFIG_FILE)} is not a valid repository config: ${(err as Error).message}`, { details: { root } });
  }
}

export function writeRepositoryConfig(root: string, config: RepositoryConfig): void {
  writeFileSync(join(root, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n', { flag: 'wx' });
}

/** Replace butler.json atomically (write a temp file, rename it over): readers see the old or the new file. */
export function replaceRepositoryConfig(root: string, config: RepositoryConfig): void {
  const tmp = join(root, `.${CONFIG_FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(config, null, 2) + '\n', { flag: 'w' });
  renameSync(tmp, join(root, CONFIG_FILE));
}

/** A connection URL without its password (what butler.json may hold), checked to be a postgres[ql]:// URL. */
export function urlWithoutPassword(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidArgument(`Invalid registry URL ${JSON.stringify(redactPassword(url))}.`);
  }
  if (u.protocol !== 'postgresql:' && u.protocol !== 'postgres:') {
    throw new InvalidArgument(`A registry URL must be postgresql://..., got ${JSON.stringify(u.protocol)}.`);
  }
  u.password = '';
  return u.toString();
}

/** `url` with any password replaced by `***` (for messages). */
export function redactPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@');
}
