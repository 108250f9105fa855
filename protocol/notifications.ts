/** Notifications the sidecar sends on the streams a session asked for. */
import * as z from 'zod';
import { notification } from './define.js';
import { ProgressTokenSchema } from './common.js';
import { ProvenanceEventSchema } from './provenance.js';

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
