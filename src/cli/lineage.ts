/** `quantum-butler lineage REPO DATASET_ID`: what a dataset came from, or what came of it. */
import { normalizeDatasetId } from '../model/dataset-id.js';
import { JSON_OPTION, REGISTRY_URL_HELP, REGISTRY_URL_OPTION, UsageError, flag, intOption, jsonText, registryUrl, type Command } from './command.js';
import { lineageTree } from './lineage-tree.js';
import { withRepository } from './open-repository.js';

export const lineageCommand: Command = {
  name: 'lineage',
  summary: 'lineage REPO DATASET_ID        the quanta and datasets a dataset came from (--up) or fed (--down)',
  help: `Usage: quantum-butler lineage REPO DATASET_ID [--up | --down] [--depth N] [--json]

Walk the collected provenance from a dataset: --up (the default) through the quantum that
wrote it to that quantum's inputs, and on; --down through the quanta that used it to their
outputs. Printed as a tree; --json prints the graph (quanta, datasets, edges).

Options:
  --up          what the dataset came from (default)
  --down        what was made from the dataset
  --depth N     walk at most N quanta deep (default: no limit)
  --json        print the lineage graph as JSON
${REGISTRY_URL_HELP}
  -h, --help    show this help
`,
  options: { up: { type: 'boolean' }, down: { type: 'boolean' }, depth: { type: 'string' }, ...REGISTRY_URL_OPTION, ...JSON_OPTION },
  positionals: { min: 2, max: 2, names: 'REPO DATASET_ID' },
  async run(values, [root, id], io) {
    if (flag(values, 'up') && flag(values, 'down')) throw new UsageError('give --up or --down, not both');
    const depth = intOption(values, 'depth');
    let datasetId: string;
    try {
      datasetId = normalizeDatasetId(id!);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const lin = await withRepository(root!, registryUrl(values), (repo) => repo.registry.lineage(datasetId, flag(values, 'down') ? 'down' : 'up', depth));
    await io.out(flag(values, 'json') ? jsonText(lin) : lineageTree(lin));
  },
};
