/** `quantum-butler demo [--out DIR]`: the end-to-end demonstration (src/demo.ts). */
import { str, type Command } from './command.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'demo [--out DIR]               run two quanta end to end and show their provenance',
  help: `Usage: quantum-butler demo [--out DIR]

Run what a pipeline host does, end to end: make a repository in DIR/repo, seed raw inputs,
spawn the sidecar, run two quanta (progress and provenance events as they stream), collect
them into the registry, print a final output's lineage, and write the provenance documents
(quantumN.provenance.json, the quanta as quantumN.quantum.json, the export formats) and
report.html into DIR. DIR must not hold an earlier demo.

Options:
  --out DIR     where to write everything (default: a new temporary directory)
  -h, --help    show this help
`,
  options: { out: { type: 'string' } },
  positionals: { min: 0, max: 0, names: '' },
  async run(values, _positionals, io) {
    const { runDemo } = await import('../demo.js');
    return runDemo(str(values, 'out'), io);
  },
};
