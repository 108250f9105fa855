/**
 * The provenance documents of `butler/extractProvenance` and `repository/provenance`, one
 * schema per `format`: native, daf_butler QuantumProvenanceData, W3C PROV-JSON (the W3C
 * member submission's JSON serialisation of PROV-DM) and OpenLineage RunEvents (spec 2-0-2).
 *
 * The PROV-JSON and RunEvent schemas state those standards' structure as strictly as zod
 * can (required members, identifier and time formats, known PROV record kinds only,
 * relations naming their required participants); `checkProvJsonReferences` adds what a
 * schema cannot say (every prefix used is declared, every relation names records that exist).
 */
import * as z from 'zod';
import { DafButlerProvenanceSchema, NativeProvenanceSchema } from './provenance.js';

export const ProvenanceFormatSchema = z.enum(['native', 'daf_butler', 'prov', 'openlineage']);
export type ProvenanceFormat = z.infer<typeof ProvenanceFormatSchema>;

// ------------------------------------------------------------------ W3C PROV-JSON

/** A qualified name `prefix:local`, or a blank-node id `_:local` (relation ids). */
const QName = z.string().regex(/^[A-Za-z_][\w.-]*:[^\s]*$/, 'a qualified name prefix:local');
/** xsd:dateTime with a time zone, as PROV-JSON times are. */
const DateTime = z.iso.datetime({ offset: true });
/** A PROV-JSON typed literal: `{"$": value, "type": QName}` or a language-tagged string. */
const TypedLiteral = z.union([
  z.strictObject({ $: z.union([z.string(), z.number()]), type: QName }),
  z.strictObject({ $: z.string(), lang: z.string() }),
]);
const AttributeValue = z.union([z.string(), z.number(), z.boolean(), TypedLiteral]);
const Attributes = z.record(QName, z.union([AttributeValue, z.array(AttributeValue).min(1)]));

/** A record of a kind with `required` participant attributes (QNames) and optional times. */
const provRecord = (required: readonly string[], times: readonly string[] = []) =>
  Attributes.superRefine((rec, ctx) => {
    for (const key of required) {
      if (typeof rec[key] !== 'string') ctx.addIssue({ code: 'custom', message: `${key} (a QName) is required`, path: [key] });
    }
    for (const key of times) {
      if (rec[key] !== undefined && !DateTime.safeParse(rec[key]).success) ctx.addIssue({ code: 'custom', message: `${key} must be an xsd:dateTime`, path: [key] });
    }
  });
const records = (schema: z.ZodType) => z.record(QName, schema).optional();

/** PROV-JSON's record kinds (PROV-DM's types and relations) and the participants each requires. */
export const PROV_RELATIONS = {
  wasGeneratedBy: ['prov:entity'],
  used: ['prov:activity'],
  wasInformedBy: ['prov:informed', 'prov:informant'],
  wasStartedBy: ['prov:activity'],
  wasEndedBy: ['prov:activity'],
  wasInvalidatedBy: ['prov:entity'],
  wasDerivedFrom: ['prov:generatedEntity', 'prov:usedEntity'],
  wasAttributedTo: ['prov:entity', 'prov:agent'],
  wasAssociatedWith: ['prov:activity'],
  actedOnBehalfOf: ['prov:delegate', 'prov:responsible'],
  wasInfluencedBy: ['prov:influencee', 'prov:influencer'],
  specializationOf: ['prov:specificEntity', 'prov:generalEntity'],
  alternateOf: ['prov:alternate1', 'prov:alternate2'],
  hadMember: ['prov:collection', 'prov:entity'],
} as const;

export const ProvJsonDocumentSchema = z.strictObject({
  prefix: z.record(z.string().regex(/^[A-Za-z_][\w.-]*$/), z.string().min(1)),
  entity: records(Attributes),
  activity: records(provRecord([], ['prov:startTime', 'prov:endTime'])),
  agent: records(Attributes),
  ...(Object.fromEntries(
    Object.entries(PROV_RELATIONS).map(([kind, required]) => [kind, records(provRecord(required, ['prov:time']))]),
  ) as { [K in keyof typeof PROV_RELATIONS]: ReturnType<typeof records> }),
});
/** The kinds the sidecar always writes (possibly empty), on top of PROV-JSON's rules. */
export const SidecarProvJsonSchema = ProvJsonDocumentSchema.required({
  entity: true,
  activity: true,
  agent: true,
  used: true,
  wasGeneratedBy: true,
  wasAssociatedWith: true,
  wasInfluencedBy: true,
});
/** A PROV-JSON document as the sidecar writes it: the kinds it emits are always present. */
export type ProvJsonDocument = {
  prefix: Record<string, string>;
  entity: Record<string, Record<string, unknown>>;
  activity: Record<string, Record<string, unknown>>;
  agent: Record<string, Record<string, unknown>>;
  used: Record<string, Record<string, unknown>>;
  wasGeneratedBy: Record<string, Record<string, unknown>>;
  wasAssociatedWith: Record<string, Record<string, unknown>>;
  wasInfluencedBy: Record<string, Record<string, unknown>>;
};

/** Prefixes PROV-JSON predefines. */
const PREDEFINED_PREFIXES = new Set(['prov', 'xsd', '_']);

/**
 * What the schema cannot check: every QName's prefix is declared (or predefined), and every
 * participant a relation names is a record of the document. Returns the problems found.
 */
export function checkProvJsonReferences(doc: z.infer<typeof ProvJsonDocumentSchema>): string[] {
  const problems: string[] = [];
  const declared = new Set([...Object.keys(doc.prefix), ...PREDEFINED_PREFIXES]);
  const ids = new Set(['entity', 'activity', 'agent'].flatMap((k) => Object.keys((doc as Record<string, object | undefined>)[k] ?? {})));
  const prefixOf = (q: string): string => q.slice(0, q.indexOf(':'));
  for (const [kind, recs] of Object.entries(doc)) {
    if (kind === 'prefix') continue;
    for (const [id, rec] of Object.entries((recs ?? {}) as Record<string, Record<string, unknown>>)) {
      if (!declared.has(prefixOf(id))) problems.push(`${kind} ${id}: undeclared prefix`);
      for (const [attr, value] of Object.entries(rec)) {
        if (!declared.has(prefixOf(attr))) problems.push(`${kind} ${id}: attribute ${attr} has an undeclared prefix`);
        const typed = value as { type?: string; $?: unknown };
        if (typed && typeof typed === 'object' && typeof typed.type === 'string' && !declared.has(prefixOf(typed.type))) {
          problems.push(`${kind} ${id}: ${attr} has a type with an undeclared prefix`);
        }
        if (typed && typeof typed === 'object' && typed.type === 'xsd:QName' && typeof typed.$ === 'string' && !declared.has(prefixOf(typed.$))) {
          problems.push(`${kind} ${id}: ${attr} names ${typed.$}, whose prefix is undeclared`);
        }
      }
      const participants = (PROV_RELATIONS as Record<string, readonly string[]>)[kind];
      if (!participants) continue;
      for (const [attr, value] of Object.entries(rec)) {
        if (attr.startsWith('prov:') && ['prov:time', 'prov:role', 'prov:type', 'prov:label'].every((a) => a !== attr) && typeof value === 'string' && !ids.has(value)) {
          problems.push(`${kind} ${id}: ${attr} names ${value}, which is not a record of the document`);
        }
      }
    }
  }
  return problems;
}

// ------------------------------------------------------------------ OpenLineage RunEvent (2-0-2)

const Uri = z.string().regex(/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/, 'a URI');
/** Every facet names its producer and schema. */
const Facet = z.looseObject({ _producer: Uri, _schemaURL: Uri });
const Facets = z.record(z.string(), Facet);
export type OpenLineageFacet = z.infer<typeof Facet>;

export const OpenLineageDatasetSchema = z.strictObject({
  namespace: z.string().min(1),
  name: z.string().min(1),
  facets: Facets.optional(),
});
export const OpenLineageInputDatasetSchema = OpenLineageDatasetSchema.extend({ inputFacets: Facets.optional() });
export const OpenLineageOutputDatasetSchema = OpenLineageDatasetSchema.extend({ outputFacets: Facets.optional() });

export const OpenLineageRunEventSchema = z.strictObject({
  eventType: z.enum(['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER']),
  eventTime: DateTime,
  run: z.strictObject({ runId: z.uuid(), facets: Facets.optional() }),
  job: z.strictObject({ namespace: z.string().min(1), name: z.string().min(1), facets: Facets.optional() }),
  inputs: z.array(OpenLineageInputDatasetSchema).optional(),
  outputs: z.array(OpenLineageOutputDatasetSchema).optional(),
  producer: Uri,
  schemaURL: Uri,
});
/** A RunEvent as the sidecar writes it: facets, inputs and outputs always present (possibly empty). */
export const SidecarRunEventSchema = OpenLineageRunEventSchema.extend({
  run: z.strictObject({ runId: z.uuid(), facets: Facets }),
  job: z.strictObject({ namespace: z.string().min(1), name: z.string().min(1), facets: Facets }),
  inputs: z.array(OpenLineageInputDatasetSchema.required({ facets: true })),
  outputs: z.array(OpenLineageOutputDatasetSchema.required({ facets: true })),
});
export type OpenLineageRunEvent = z.infer<typeof SidecarRunEventSchema>;

// ------------------------------------------------------------------ by format

/** The document schema of each format: native and daf_butler as exported, PROV-JSON, OpenLineage START and COMPLETE events. */
export const ProvenanceDocumentSchemas = {
  native: NativeProvenanceSchema,
  daf_butler: DafButlerProvenanceSchema,
  prov: SidecarProvJsonSchema,
  openlineage: z.array(SidecarRunEventSchema),
} as const;

/** The document a `format` answers with. */
export type ProvenanceDocument<F extends ProvenanceFormat> = {
  native: z.infer<typeof NativeProvenanceSchema>;
  daf_butler: z.infer<typeof DafButlerProvenanceSchema>;
  prov: ProvJsonDocument;
  openlineage: OpenLineageRunEvent[];
}[F];

/** Any format's document (the result schema of the requests; the `format` param says which). */
export const ProvenanceDocumentSchema = z.union([
  ProvenanceDocumentSchemas.native,
  ProvenanceDocumentSchemas.daf_butler,
  ProvenanceDocumentSchemas.prov,
  ProvenanceDocumentSchemas.openlineage,
]);
