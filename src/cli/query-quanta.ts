/** `quantum-butler query-quanta REPO`: the quanta collected into the registry. */
import { compileGlob } from '../model/glob.js';
import { durationBetween, formatDuration } from '../report/duration.js';
import { JSON_OPTION, REGISTRY_URL_HELP, REGISTRY_URL_OPTION, flag, jsonText, registryUrl, str, type Command } from './command.js';
import { withRepository } from './open-repository.js';
import { dataIdWords, renderTable } from './table.js';

export const queryQuantaCommand: Command = {
  name: 'query-quanta',
  summary: 'query-quanta REPO              list collected quanta: task, data ID, host, times',
  help: `Usage: quantum-butler query-quanta REPO [--task GLOB] [--json]

List the quanta collected into the repository's registry, ordered by task, start time and id.

Options:
  --task GLOB    only quanta whose task name matches (e.g. '*.Calibrate')
  --json         print the quanta as JSON
${REGISTRY_URL_HELP}
  -h, --help     show this help
`,
  options: { task: { type: 'string' }, ...REGISTRY_URL_OPTION, ...JSON_OPTION },
  positionals: { min: 1, max: 1, names: 'REPO' },
  async run(values, [root], io) {
    const task = str(values, 'task');
    const glob = task === undefined ? undefined : compileGlob(task, '--task pattern');
    const quanta = (await withRepository(root!, registryUrl(values), (repo) => repo.registry.quanta()))
      .filter((q) => !glob || glob.match(q.taskName ?? ''))
      .sort((a, b) => (a.taskName ?? '').localeCompare(b.taskName ?? '') || (a.startedAt ?? '').localeCompare(b.startedAt ?? '') || a.id.localeCompare(b.id));
    if (flag(values, 'json')) return void (await io.out(jsonText(quanta)));
    if (quanta.length === 0) return void (await io.out('No quanta found.\n'));
    const took = (q: (typeof quanta)[number]) => (q.startedAt && q.endedAt ? formatDuration(durationBetween(q.startedAt, q.endedAt)) : '');
    await io.out(renderTable(['task', 'data ID', 'host', 'started', 'duration', 'id'], quanta.map((q) => [q.taskName ?? '', dataIdWords(q.dataId), q.host ?? '', q.startedAt ?? '', took(q), q.id])));
  },
};
