/**
 * The repository commands and `demo`: imported by src/cli.ts only when a command or --help is
 * asked for, so that serving (the default) does not load the repository layer at start.
 */
import type { Command } from './command.js';
import { createCommand } from './create.js';
import { queryDatasetsCommand } from './query-datasets.js';
import { queryQuantaCommand } from './query-quanta.js';
import { lineageCommand } from './lineage.js';
import { provenanceCommand } from './provenance.js';
import { retrieveArtifactsCommand } from './retrieve-artifacts.js';
import { collectCommand } from './collect.js';
import { reportCommand } from './report.js';
import { demoCommand } from './demo-command.js';

export const COMMANDS: readonly Command[] = [
  createCommand,
  queryDatasetsCommand,
  queryQuantaCommand,
  lineageCommand,
  provenanceCommand,
  retrieveArtifactsCommand,
  collectCommand,
  reportCommand,
  demoCommand,
];
