/** `quantum-butler collect REPO QUANTUM PROVENANCE...`: collect-and-transfer quanta's provenance into a repository. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ButlerError } from '../model/errors.js';
import { parseQuantum } from '../model/quantum.js';
import { collectAndTransfer, type CollectItem } from '../repository/collect-and-transfer.js';
import { EXIT_CONFLICTS, JSON_OPTION, REGISTRY_URL_HELP, REGISTRY_URL_OPTION, UsageError, flag, jsonText, registryUrl, type Command } from './command.js';
import { withRepository } from './open-repository.js';
import { progressReporter } from './progress.js';

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(resolve(path), 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  const text = await readText(path, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${what} ${path} is not JSON: ${(err as Error).message}`);
  }
}

/** A provenance document collect-and-transfer could not read, named by its file. */
function withPath(err: unknown, docs: readonly string[]): unknown {
  const index = err instanceof ButlerError ? (err.context.details as { index?: unknown } | undefined)?.index : undefined;
  const path = typeof index === 'number' ? docs[2 * index + 1] : undefined;
  return path !== undefined ? new Error(`provenance ${path}: ${(err as Error).message}`) : err;
}

export const collectCommand: Command = {
  name: 'collect',
  summary: 'collect REPO QUANTUM PROV...   collect-and-transfer quanta and their provenance into the registry',
  help: `Usage: quantum-butler collect REPO QUANTUM PROVENANCE [QUANTUM PROVENANCE]... [--dry-run] [--json]

Collect finished quanta into the repository's registry (their outputs' datasets and records,
the quanta and their provenance), in one transaction: give each quantum's JSON file (as
repository/makeQuantum made it) followed by its provenance document (the session's provenance
file: native or daf_butler QuantumProvenanceData). Conflicts are listed and nothing is written.
Progress goes to stderr: a bar on a terminal, a few lines otherwise. Exit code: 0 collected
(or checked), 3 conflicts (nothing written), 75 a failure worth retrying later (the registry's
server down or busy), 1 any other failure, 2 a usage error.

Options:
  --dry-run     check everything, write nothing
  --json        print the collect report as JSON
${REGISTRY_URL_HELP}
  -h, --help    show this help
`,
  options: { 'dry-run': { type: 'boolean' }, ...REGISTRY_URL_OPTION, ...JSON_OPTION },
  positionals: { min: 3, max: Number.MAX_SAFE_INTEGER, names: 'REPO QUANTUM PROVENANCE' },
  async run(values, [root, ...docs], io) {
    if (docs.length % 2 !== 0) throw new UsageError(`give pairs of QUANTUM and PROVENANCE files (got ${docs.length} files)`);
    const dryRun = flag(values, 'dry-run');
    const report = await withRepository(root!, registryUrl(values), async (repo) => {
      const items: CollectItem[] = [];
      const reading = progressReporter(io, 'reading');
      for (let i = 0; i < docs.length; i += 2) {
        // The provenance stays text: collect-and-transfer reads it (off this thread for many) and stores it verbatim.
        const [q, p] = await Promise.all([readJson(docs[i]!, 'quantum'), readText(docs[i + 1]!, 'provenance')]);
        items.push({ quantum: parseQuantum(q, repo.storageClasses, repo.universe), provenanceText: p });
        reading.update(items.length, docs.length / 2);
      }
      reading.end();
      const bar = progressReporter(io, dryRun ? 'checking' : 'collecting');
      const opts = { dryRun, progress: (done: number, total: number) => bar.update(done, total), ownDatastore: repo.datastoreName, storageClasses: repo.storageClasses };
      try {
        return dryRun ? await collectAndTransfer(repo.registry, items, opts) : await repo.writes.run(() => collectAndTransfer(repo.registry, items, opts));
      } catch (err) {
        throw withPath(err, docs);
      } finally {
        bar.end();
      }
    });
    if (flag(values, 'json')) await io.out(jsonText(report));
    else {
      const lines = [
        `${report.committed ? 'Collected' : dryRun ? 'Checked (dry run, nothing written)' : 'Not collected'}: ${report.quanta.stored} quanta stored (${report.quanta.alreadyPresent} already there), ` +
          `${report.datasets.inserted} datasets and ${report.records.inserted} records inserted; ${report.conflicts.length} conflict${report.conflicts.length === 1 ? '' : 's'}.`,
        ...report.conflicts.slice(0, 20).map((c) => `  conflict: ${c.reason}${c.datasetId ? ` dataset ${c.datasetId}` : ''}${c.quantumId ? ` quantum ${c.quantumId}` : ''}`),
      ];
      if (report.conflicts.length > 20) lines.push(`  ... and ${report.conflicts.length - 20} more (--json lists them all)`);
      await io.out(lines.join('\n') + '\n');
    }
    if (report.conflicts.length === 0) return 0;
    io.err(`quantum-butler collect: ${report.conflicts.length + report.conflictsOmitted} conflicts; nothing was written.\n`);
    return EXIT_CONFLICTS;
  },
};
