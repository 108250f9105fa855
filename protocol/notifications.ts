/** Notifications the sidecar sends on the streams a session asked for. */
import * as z from 'zod';
import { notification } from './define.js';
import { ProgressTokenSchema } from './common.js';
import { ProvenanceEventKindSchema, ProvenanceEventSchema } from './provenance.js';

export const ProvenanceNotification = notification(
  'butler/provenance',
  ProvenanceEventSchema,
  'out',
  'One provenance event of a session (stream "provenance").',
);

export const ProvenanceBatchNotification = notification(
  'butler/provenanceBatch',
  z.object({ events: z.array(ProvenanceEventSchema).min(1) }),
  'out',
  'Instead of butler/provenance, for a client that declared capabilities.provenanceBatches: the events written together (in one turn), in order, each exactly a butler/provenance params.',
);

/**
 * One event of a run, positional: `[event, datasetId, datasetType]`, then, for an event that has
 * any, an object of its other members in the order butler/provenance writes them.
 */
export const ProvenanceRunEventSchema = z.union([
  z.tuple([ProvenanceEventKindSchema, z.string(), z.string()]),
  z.tuple([ProvenanceEventKindSchema, z.string(), z.string(), ProvenanceEventSchema.pick({ reason: true, size: true, sha256: true, handle: true }).strict()]),
]);

/** Consecutive events of one session with the same time: event i has `seq + i`. */
export const ProvenanceRunSchema = z.object({
  sessionId: z.string(),
  seq: z.number().int().describe('The seq of the run\'s first event; event i of the run has seq + i'),
  time: z.string().describe('ISO 8601: the time of every event of the run'),
  events: z.array(ProvenanceRunEventSchema).min(1),
});

export const ProvenanceRunsNotification = notification(
  'butler/provenanceRuns',
  z.object({ runs: z.array(ProvenanceRunSchema).min(1) }),
  'out',
  'Instead of butler/provenance and butler/provenanceBatch, for a client that declared capabilities.provenanceRuns: the events written together (in one turn), in order, as runs of one session\'s consecutive events with one time; each event expands to exactly a butler/provenance params.',
);

export const WorkDoneProgressSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('begin'),
    title: z.string(),
    cancellable: z.boolean().optional(),
    message: z.string().optional(),
    percentage: z.number().min(0).max(100).optional(),
  }),
  z.object({
    kind: z.literal('report'),
    cancellable: z.boolean().optional(),
    message: z.string().optional(),
    percentage: z.number().min(0).max(100).optional(),
  }),
  z.object({ kind: z.literal('end'), message: z.string().optional() }),
]);

export const ProgressNotification = notification(
  '$/progress',
  z.object({ token: ProgressTokenSchema, value: WorkDoneProgressSchema }),
  'out',
  'Work-done progress for a request that carried a workDoneToken (stream "progress").',
);
