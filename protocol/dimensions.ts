/** butler/dimensions: the session's dimension universe (daf_butler's `LimitedButler.dimensions`). */
import * as z from 'zod';
import { request } from './define.js';
import { SessionIdSchema } from './common.js';

/** A daf_butler dimensions config as JSON, or {namespace, version} naming a universe the sidecar ships. */
export const DimensionsSpecSchema = z
  .union([
    z.object({ namespace: z.string(), version: z.number().int() }).strict(),
    z.object({ elements: z.record(z.string(), z.unknown()), skypix: z.record(z.string(), z.unknown()), version: z.number().int() }).loose(),
  ])
  .describe("A dimension universe: daf_butler's dimensions config (configs/dimensions.yaml as JSON) or {namespace, version}");

export const DimensionElementSchema = z.object({
  name: z.string(),
  kind: z.enum(['governor', 'dimension', 'skypix', 'combination']).describe('combination: a join relation (no key, never in a data ID)'),
  required: z.array(z.string()).describe("daf_butler's `required`: the dimensions that identify a record, in the universe's order; a dimension lists itself last"),
  implied: z.array(z.string()).describe('Dimensions a record identifies directly (not recursively)'),
  keyType: z.enum(['int', 'string']).nullable().describe("Type of the dimension's value in data IDs; null for a combination"),
  governor: z.string().nullable().describe('The governor dimension the element depends on, if any'),
});

export const DimensionsResultSchema = z.object({
  namespace: z.string(),
  version: z.number().int(),
  commonSkyPix: z.string(),
  elements: z.array(DimensionElementSchema).describe("Every element, in the universe's (topological) order"),
  config: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("With config=true: the universe's daf_butler dimensions config (documentation and legacy storage sections left out)"),
});

export const Dimensions = request(
  'butler/dimensions',
  z.object({ sessionId: SessionIdSchema, config: z.boolean().default(false).describe('Also return the dimensions config') }),
  DimensionsResultSchema,
  "The session's dimension universe: namespace, version and every element with its required and implied dimensions and key type.",
);
