/** `quantum-butler provenance REPO QUANTUM_ID`: a collected quantum's provenance in one of the export formats. */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { exportStoredProvenance, type ExportFormat } from '../repository/export-formats.js';
import { REGISTRY_URL_HELP, REGISTRY_URL_OPTION, UsageError, jsonText, registryUrl, str, type Command } from './command.js';
import { withRepository } from './open-repository.js';

const FORMATS: readonly ExportFormat[] = ['native', 'daf_butler', 'prov', 'openlineage'];

export const provenanceCommand: Command = {
  name: 'provenance',
  summary: 'provenance REPO QUANTUM_ID     a quantum\'s provenance as native, daf_butler, PROV-JSON or OpenLineage JSON',
  help: `Usage: quantum-butler provenance REPO QUANTUM_ID [--format FORMAT] [--out FILE]

Print the provenance document of a collected quantum (JSON), in one of these formats:
  native        quantum-butler's own document, as collected (default)
  daf_butler    daf_butler QuantumProvenanceData
  prov          W3C PROV-JSON
  openlineage   OpenLineage RunEvents (START and COMPLETE)

Options:
  --format FORMAT   native | daf_butler | prov | openlineage
  --out FILE        write the document to FILE instead of stdout
${REGISTRY_URL_HELP}
  -h, --help        show this help
`,
  options: { format: { type: 'string' }, out: { type: 'string' }, ...REGISTRY_URL_OPTION },
  positionals: { min: 2, max: 2, names: 'REPO QUANTUM_ID' },
  async run(values, [root, quantumId], io) {
    const format = (str(values, 'format') ?? 'native') as ExportFormat;
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
    const doc = await withRepository(root!, registryUrl(values), (repo) => exportStoredProvenance(repo.registry, quantumId!, format));
    const out = str(values, 'out');
    if (out === undefined) return void (await io.out(jsonText(doc)));
    await writeFile(resolve(out), jsonText(doc));
    await io.out(`Wrote ${format} provenance of ${quantumId} to ${resolve(out)}.\n`);
  },
};
