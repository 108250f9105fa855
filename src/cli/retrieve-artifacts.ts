/** `quantum-butler retrieve-artifacts REPO DEST`: copy (or link) datasets' files out (daf_butler `butler retrieve-artifacts`). */
import { resolve } from 'node:path';
import type { ArtifactTransfer } from '../datastore/datastore.js';
import { ARTIFACT_TRANSFERS } from '../datastore/retrieve-artifacts.js';
import { JSON_OPTION, REGISTRY_URL_HELP, REGISTRY_URL_OPTION, UsageError, flag, jsonText, keyValues, registryUrl, str, strs, type Command } from './command.js';
import { withRepository } from './open-repository.js';

export const retrieveArtifactsCommand: Command = {
  name: 'retrieve-artifacts',
  summary: 'retrieve-artifacts REPO DEST   copy the files of matching datasets into a directory',
  help: `Usage: quantum-butler retrieve-artifacts REPO DEST [--dataset-type GLOB] [--run RUN] [--data-id KEY=VALUE]...
                                          [--transfer MODE] [--no-preserve-path] [--clobber] [--json]

Copy (or link) the files of the matching datasets into the directory DEST, with the
_butler_zip_index.json daf_butler writes beside them. With no filter, every dataset.

Options:
  --dataset-type GLOB    only datasets of matching types
  --run RUN              only datasets in this run
  --data-id KEY=VALUE    only datasets whose data ID has this value (repeatable)
  --transfer MODE        ${ARTIFACT_TRANSFERS.join(' | ')} (default: auto, a copy)
  --no-preserve-path     put every file directly in DEST (name prefixed by its dataset id)
                         instead of under its path in the datastore
  --clobber              overwrite files already in DEST (default: refuse, and write nothing)
  --json                 print the files written as JSON
${REGISTRY_URL_HELP}
  -h, --help             show this help
`,
  options: {
    'dataset-type': { type: 'string' },
    run: { type: 'string' },
    'data-id': { type: 'string', multiple: true },
    transfer: { type: 'string' },
    'no-preserve-path': { type: 'boolean' },
    clobber: { type: 'boolean' },
    ...REGISTRY_URL_OPTION,
    ...JSON_OPTION,
  },
  positionals: { min: 2, max: 2, names: 'REPO DEST' },
  async run(values, [root, dest], io) {
    const transfer = (str(values, 'transfer') ?? 'auto') as ArtifactTransfer;
    if (!ARTIFACT_TRANSFERS.includes(transfer)) throw new UsageError(`--transfer must be one of ${ARTIFACT_TRANSFERS.join(', ')}`);
    const dataId = keyValues(strs(values, 'data-id'), '--data-id');
    const datasetType = str(values, 'dataset-type');
    const run = str(values, 'run');
    const preservePath = !flag(values, 'no-preserve-path');
    const written = await withRepository(root!, registryUrl(values), async (repo) => {
      const refs = await repo.registry.queryDatasets({
        ...(datasetType !== undefined ? { datasetType } : {}),
        ...(run !== undefined ? { run } : {}),
        ...(Object.keys(dataId).length ? { dataId } : {}),
      });
      if (refs.length === 0) return [];
      return repo.retrieveArtifacts(refs, { destination: resolve(dest!), transfer, preservePath, overwrite: flag(values, 'clobber'), addPrefix: !preservePath });
    });
    if (flag(values, 'json')) return void (await io.out(jsonText(written.map((a) => ({ path: a.path, ids: a.ids })))));
    if (written.length === 0) return void (await io.out('No datasets matched; nothing retrieved.\n'));
    await io.out(`${written.map((a) => a.path).join('\n')}\nRetrieved ${written.length} file${written.length === 1 ? '' : 's'} into ${resolve(dest!)}.\n`);
  },
};
