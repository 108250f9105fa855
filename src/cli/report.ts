/** `quantum-butler report SOURCE... --out FILE.html`: the provenance report of a repository or of provenance documents. */
import { existsSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NativeProvenanceSchema, type NativeProvenance } from '../../protocol/provenance.js';
import { renderProvenanceReport, type ReportDocument } from '../report/html-report.js';
import { CONFIG_FILE } from '../repository/repository-config.js';
import { REGISTRY_URL_HELP, REGISTRY_URL_OPTION, UsageError, registryUrl, str, strs, type Command } from './command.js';
import { withRepository } from './open-repository.js';

const isRepository = (path: string) => existsSync(join(path, CONFIG_FILE));

/** The native document, or why it is not one. */
function native(value: unknown): NativeProvenance | string {
  const parsed = NativeProvenanceSchema.safeParse(value);
  return parsed.success ? parsed.data : 'not a native provenance document (a daf_butler QuantumProvenanceData has no task, agent or timing to show)';
}

/** A link from the report at `out` to the document at `file`: relative when beside or below it. */
function hrefFrom(out: string, file: string): string {
  const rel = relative(dirname(out), file);
  return rel.startsWith('..') ? pathToFileURL(file).href : rel.split(sep).map(encodeURIComponent).join('/');
}

export const reportCommand: Command = {
  name: 'report',
  summary: 'report SOURCE... --out FILE    an HTML provenance report of a repository or of provenance files',
  help: `Usage: quantum-butler report REPO [--quantum ID]... [--run RUN] --out FILE.html
       quantum-butler report PROVENANCE.json... --out FILE.html

Write a self-contained HTML report (no scripts, no external requests): an overview graph of
tasks and dataset types, then the quanta grouped by task, each with its agent (task, host),
duration, inputs used, outputs written, its own graph and a link to its JSON document.

From a repository: every collected quantum, or those given with --quantum, or those that
wrote into --run. From provenance files (native documents a session wrote): those quanta,
linked to their files.

Options:
  --out FILE       where to write the report (required)
  --quantum ID     only this quantum (repeatable; repository only)
  --run RUN        only quanta with an output in this run (repository only)
  --title TEXT     the report's title
${REGISTRY_URL_HELP}
  -h, --help       show this help
`,
  options: { out: { type: 'string' }, quantum: { type: 'string', multiple: true }, run: { type: 'string' }, title: { type: 'string' }, ...REGISTRY_URL_OPTION },
  positionals: { min: 1, max: Number.MAX_SAFE_INTEGER, names: 'SOURCE' },
  async run(values, sources, io) {
    const outArg = str(values, 'out');
    if (outArg === undefined) throw new UsageError('--out FILE.html is required');
    const out = resolve(outArg);
    if (existsSync(out) && statSync(out).isDirectory()) throw new Error(`--out ${out} is a directory; name the HTML file to write`);
    const quanta = strs(values, 'quantum');
    const run = str(values, 'run');
    const fromRepo = sources.length === 1 && isRepository(sources[0]!);
    if (!fromRepo && (quanta.length > 0 || run !== undefined)) throw new UsageError('--quantum and --run need a repository as the only SOURCE');
    const docs: ReportDocument[] = [];
    let skipped = 0;
    let subtitle: string;
    if (fromRepo) {
      const root = resolve(sources[0]!);
      subtitle = `Repository ${root}`;
      await withRepository(root, registryUrl(values), async (repo) => {
        const ids = quanta.length > 0 ? quanta : (await repo.registry.quanta()).map((q) => q.id);
        for (const id of ids) {
          const stored = await repo.registry.quantumProvenance(id);
          if (stored === undefined) throw new Error(`quantum ${id} is not stored in ${root}`);
          const doc = native(stored);
          if (typeof doc === 'string') {
            skipped++;
            continue;
          }
          if (run === undefined || doc.outputs.some((o) => o.ref.run === run)) docs.push({ provenance: doc });
        }
      });
      if (run !== undefined) subtitle += `, run ${run}`;
    } else {
      subtitle = `${sources.length} provenance document${sources.length === 1 ? '' : 's'}`;
      for (const source of sources) {
        const file = resolve(source);
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch (err) {
          throw new Error(`cannot read ${source}: ${(err as NodeJS.ErrnoException).code === 'EISDIR' ? 'a directory that is not a repository' : ((err as NodeJS.ErrnoException).code ?? (err as Error).message)}`);
        }
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (err) {
          throw new Error(`${source} is not JSON: ${(err as Error).message}`);
        }
        const doc = native(value);
        if (typeof doc === 'string') throw new Error(`${source} is ${doc}`);
        docs.push({ provenance: doc, href: hrefFrom(out, file) });
      }
    }
    if (skipped > 0) io.err(`report: ${skipped} quanta stored as daf_butler documents are left out (they have no task, agent or timing).\n`);
    const html = renderProvenanceReport(str(values, 'title') ?? 'Provenance report', docs, { subtitle });
    await writeFile(out, html);
    await io.out(`Wrote the report of ${docs.length} quant${docs.length === 1 ? 'um' : 'a'} to ${out}.\n`);
  },
};
