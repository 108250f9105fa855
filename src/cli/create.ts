/** `quantum-butler create REPO`: a new, empty repository (daf_butler `butler create`). */
import { Repository } from '../repository/repository.js';
import { ChecksumPolicySchema } from '../repository/repository-config.js';
import { JSON_OPTION, REGISTRY_URL_OPTION, flag, jsonText, registryUrl, str, UsageError, type Command } from './command.js';

const CHECKSUMS: readonly string[] = ChecksumPolicySchema.options;

export const createCommand: Command = {
  name: 'create',
  summary: 'create REPO                    make a new repository (SQLite registry, or PostgreSQL with --registry-url)',
  help: `Usage: quantum-butler create REPO [--registry-url URL [--schema NAME]] [--checksum POLICY] [--json]

Make a new repository in REPO (a new or empty directory): butler.json, a file datastore,
and a registry: the SQLite file registry.sqlite3, or with --registry-url a schema on a
PostgreSQL server (butler.json keeps the URL without its password).

Options:
  --registry-url URL   put the registry on this PostgreSQL server (postgresql://...)
  --schema NAME        the PostgreSQL schema (default: quantum_butler)
  --checksum POLICY    the checksum the datastore's records carry: none (default, as
                       daf_butler), blake2b (daf_butler's checksum: true) or sha256
  --json               print the result as JSON
  -h, --help           show this help
`,
  options: { ...REGISTRY_URL_OPTION, schema: { type: 'string' }, checksum: { type: 'string' }, ...JSON_OPTION },
  positionals: { min: 1, max: 1, names: 'REPO' },
  async run(values, [root], io) {
    const url = registryUrl(values);
    const schema = str(values, 'schema');
    if (schema !== undefined && url === undefined) throw new UsageError('--schema needs --registry-url');
    const checksum = str(values, 'checksum');
    if (checksum !== undefined && !CHECKSUMS.includes(checksum)) throw new UsageError(`--checksum must be one of ${CHECKSUMS.join(', ')}`);
    const spec = url === undefined ? undefined : { kind: 'postgresql' as const, url, ...(schema !== undefined ? { schema } : {}) };
    const config = checksum === undefined ? {} : { datastore: { checksum } };
    const repo = await Repository.create(root!, config, spec, url !== undefined ? { registryUrl: url } : {});
    try {
      const result = { root: repo.root, registry: { kind: repo.registry.kind, location: repo.registry.location }, datastoreName: repo.datastoreName };
      await io.out(flag(values, 'json') ? jsonText(result) : `Created repository ${repo.root} (${repo.registry.kind} registry: ${repo.registry.location}).\n`);
    } finally {
      await repo.close();
    }
  },
};
