/**
 * A repository's configuration file (`<root>/butler.json`): datastore template and
 * record checksum policy (written explicitly at create: see NEW_REPOSITORY_CHECKSUM), storage classes defined for this repository, its dimension universe
 * (`{namespace, version}` naming daf_butler's default universe, or a full daf_butler
 * dimensions config, kept in its trimmed canonical form), and where its registry lives
 * (absent: the SQLite file beside it).
 *
 * Config version 1 (before universes) listed dimensions as `{name: {requires}}`; such a
 * repository is read with the default universe when every dimension it lists is one of
 * the default's, and refused with a RepositoryError otherwise.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { DEFAULT_TEMPLATE, validateTemplate } from '../datastore/location-template.js';
import { InvalidArgument, RepositoryError } from '../model/errors.js';
import { isUniverseReference, parseDimensionConfig, trimDimensionConfig, type UniverseReference } from '../model/dimensions/dimension-config.js';
import { defaultUniverse, universeFrom } from '../model/dimensions/default-universe.js';
import type { DimensionUniverse } from '../model/dimensions/dimension-universe.js';

export const CONFIG_FILE = 'butler.json';
export const REGISTRY_FILE = 'registry.sqlite3';
export const DATASTORE_DIR = 'datastore';

/** Config version 1 wrote its dimensions as `{name: {requires}}`. */
const LegacyDimensionsSchema = z.record(z.string(), z.object({ requires: z.array(z.string()).default([]) }).strict());

/** `dimensions` as written: a reference to a known universe, or a trimmed daf_butler dimensions config. */
export type RepositoryDimensions = UniverseReference | Record<string, unknown>;

/** A registry on a PostgreSQL server: its URL (never with a password) and the schema holding its tables. */
export const PostgresRegistryConfigSchema = z.object({
  kind: z.literal('postgresql'),
  url: z.string().min(1),
  schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier').default('quantum_butler'),
});
export const RegistryConfigSchema = z.discriminatedUnion('kind', [z.object({ kind: z.literal('sqlite') }), PostgresRegistryConfigSchema]);
export type RegistryConfig = z.output<typeof RegistryConfigSchema>;
export type PostgresRegistryConfig = z.output<typeof PostgresRegistryConfigSchema>;

export const ChecksumPolicySchema = z.enum(['blake2b', 'sha256', 'none']);
export type ChecksumPolicyName = z.output<typeof ChecksumPolicySchema>;

/**
 * The record checksum of a new repository when its config names none: none, as daf_butler's
 * FileDatastore (`checksum: false` unless configured). blake2b is daf_butler's algorithm when
 * asked for; sha256 what repositories used before blake2b (kept for them).
 */
export const NEW_REPOSITORY_CHECKSUM: ChecksumPolicyName = 'none';
/**
 * The record checksum of an existing repository whose butler.json names none: what such a
 * config meant when it was written (the default until new repositories took 'none'). create
 * always writes the policy, so only configs written by hand lack it.
 */
export const ABSENT_CHECKSUM_IN_EXISTING_CONFIG: ChecksumPolicyName = 'blake2b';

export const RepositoryConfigSchema = z.object({
  version: z.union([z.literal(1), z.literal(2)]).default(2),
  datastore: z
    .object({
      template: z.string().default(DEFAULT_TEMPLATE),
      // Absent: NEW_REPOSITORY_CHECKSUM at create, ABSENT_CHECKSUM_IN_EXISTING_CONFIG when read.
      checksum: ChecksumPolicySchema.optional(),
    })
    .default({ template: DEFAULT_TEMPLATE }),
  storageClasses: z.record(z.string(), z.unknown()).default({}),
  dimensions: z.unknown().optional().describe('A daf_butler dimensions config, or {namespace, version}; default: daf_butler\'s default universe'),
  /** Absent for the SQLite file beside butler.json (`registry.sqlite3`). */
  registry: PostgresRegistryConfigSchema.optional(),
});
type ParsedConfig = z.output<typeof RepositoryConfigSchema>;
/** A parsed config: every datastore setting explicit (as butler.json is written). */
export type RepositoryConfig = Omit<ParsedConfig, 'dimensions' | 'version' | 'datastore'> & {
  version: 2;
  datastore: { template: string; checksum: ChecksumPolicyName };
  dimensions: RepositoryDimensions;
};
export type RepositoryConfigInput = z.input<typeof RepositoryConfigSchema>;

/**
 * A config as given: a new repository's (`absentChecksum` NEW_REPOSITORY_CHECKSUM), or an
 * existing butler.json's (readRepositoryConfig passes ABSENT_CHECKSUM_IN_EXISTING_CONFIG).
 */
export function parseRepositoryConfig(input: unknown, absentChecksum: ChecksumPolicyName = NEW_REPOSITORY_CHECKSUM): RepositoryConfig {
  const parsed = RepositoryConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new InvalidArgument(`Invalid repository config: ${z.prettifyError(parsed.error)}`, { details: { issues: parsed.error.issues } });
  }
  validateTemplate(parsed.data.datastore.template);
  const { version, dimensions, datastore, ...rest } = parsed.data;
  return {
    version: 2,
    datastore: { template: datastore.template, checksum: datastore.checksum ?? absentChecksum },
    ...rest,
    dimensions: normalizeDimensions(dimensions, version),
  };
}

/** The universe named by (or defined in) a parsed config. */
export function configUniverse(config: RepositoryConfig): DimensionUniverse {
  return universeFrom(config.dimensions);
}

function normalizeDimensions(input: unknown, version: 1 | 2): RepositoryDimensions {
  const def = defaultUniverse();
  if (input === undefined || input === null) return def.toJSON();
  if (version === 1) {
    const legacy = LegacyDimensionsSchema.safeParse(input);
    if (!legacy.success) throw new InvalidArgument('dimensions of a version 1 config must be {name: {requires}}.', { details: { dimensions: input } });
    const unknown = Object.keys(legacy.data).filter((d) => !def.has(d));
    if (unknown.length > 0) {
      throw new InvalidArgument(
        `dimensions lists ${unknown.join(', ')}, which ${unknown.length > 1 ? 'are' : 'is'} not in the default universe (${def.label}); ` +
          'give the repository a daf_butler dimensions config that defines them.',
        { details: { unknown, universe: def.label } },
      );
    }
    return def.toJSON();
  }
  if (isUniverseReference(input)) return universeFrom(input).toJSON();
  if (typeof input !== 'object' || Array.isArray(input) || !('elements' in input)) {
    throw new InvalidArgument('dimensions must be a daf_butler dimensions config ({namespace, version, skypix, elements, ...}) or {namespace, version}.', {
      details: { dimensions: input },
    });
  }
  const universe = universeFrom(input);
  return universe === def ? def.toJSON() : trimDimensionConfig(parseDimensionConfig(input));
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
    return parseRepositoryConfig(JSON.parse(text), ABSENT_CHECKSUM_IN_EXISTING_CONFIG);
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

/**
 * Query parameters that hold a secret: the password, and the passphrase of the client key.
 * `passfile` (a path naming where passwords are, as `sslrootcert` names a CA) is not one.
 */
const SECRET_PARAMS = new Set(['password', 'sslpassword']);

function queryKey(param: string): string {
  const key = param.split('=')[0]!;
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

/**
 * `url` with each query parameter passed through `f` (given its decoded name and the
 * parameter as written): kept as `f` returns it, dropped when `f` returns undefined. The
 * rest of the URL is left as written.
 */
export function mapQueryParams(url: string, f: (key: string, param: string) => string | undefined): string {
  const q = url.indexOf('?');
  const hash = url.indexOf('#');
  if (q < 0 || (hash >= 0 && hash < q)) return url;
  const end = hash < 0 ? url.length : hash;
  const params = url
    .slice(q + 1, end)
    .split('&')
    .filter((p) => p !== '')
    .flatMap((p) => {
      const kept = f(queryKey(p), p);
      return kept === undefined ? [] : [kept];
    });
  return `${url.slice(0, q)}${params.length > 0 ? `?${params.join('&')}` : ''}${url.slice(end)}`;
}

/** A connection URL without its password, given as `user:pw@` or `?password=` (what butler.json may hold), checked to be a postgres[ql]:// URL. */
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
  return mapQueryParams(u.toString(), (key, param) => (SECRET_PARAMS.has(key) ? undefined : param));
}

/** `url` with any password (`user:pw@`, `?password=`, `?sslpassword=`) replaced by `***` (for messages). */
export function redactPassword(url: string): string {
  const redacted = url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@');
  return mapQueryParams(redacted, (key, param) => (SECRET_PARAMS.has(key) ? `${param.split('=')[0]}=***` : param));
}
