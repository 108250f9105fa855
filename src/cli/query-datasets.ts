/** `quantum-butler query-datasets REPO [TYPE]`: the registry's datasets (daf_butler `butler query-datasets`). */
import { wireRef } from '../butler/provenance.js';
import { JSON_OPTION, REGISTRY_URL_HELP, REGISTRY_URL_OPTION, flag, jsonText, keyValues, registryUrl, str, strs, type Command } from './command.js';
import { withRepository } from './open-repository.js';
import { dataIdWords, renderTable } from './table.js';

export const queryDatasetsCommand: Command = {
  name: 'query-datasets',
  summary: 'query-datasets REPO [TYPE]     list datasets by type glob, run and data ID',
  help: `Usage: quantum-butler query-datasets REPO [DATASET_TYPE] [--run RUN] [--data-id KEY=VALUE]... [--json]

List the datasets of the repository's registry, sorted by run, dataset type, data ID and id.
DATASET_TYPE is a glob over dataset type names (e.g. 'calexp', 'raw*'); default: all.

Options:
  --run RUN              only datasets in this run
  --data-id KEY=VALUE    only datasets whose data ID has this value (repeatable; values are
                         coerced by the dimension's type, so detector=1 matches the integer 1)
  --json                 print the refs as JSON (an array of serialized DatasetRefs)
${REGISTRY_URL_HELP}
  -h, --help             show this help
`,
  options: { run: { type: 'string' }, 'data-id': { type: 'string', multiple: true }, ...REGISTRY_URL_OPTION, ...JSON_OPTION },
  positionals: { min: 1, max: 2, names: 'REPO DATASET_TYPE' },
  async run(values, [root, datasetType], io) {
    const dataId = keyValues(strs(values, 'data-id'), '--data-id');
    const run = str(values, 'run');
    const refs = await withRepository(root!, registryUrl(values), (repo) =>
      repo.registry.queryDatasets({
        ...(datasetType !== undefined ? { datasetType } : {}),
        ...(run !== undefined ? { run } : {}),
        ...(Object.keys(dataId).length ? { dataId } : {}),
      }),
    );
    if (flag(values, 'json')) return void (await io.out(jsonText(refs.map(wireRef))));
    if (refs.length === 0) return void (await io.out('No datasets found.\n'));
    await io.out(renderTable(['type', 'run', 'data ID', 'id'], refs.map((r) => [r.datasetType.name, r.run, dataIdWords(r.dataId), r.id])));
  },
};
