/**
 * Export a native provenance document as W3C PROV-JSON, as OpenLineage RunEvents
 * (spec 2-0-2), or as daf_butler's QuantumProvenanceData. Output is deterministic: ids,
 * relations and keys are emitted in sorted order, relation ids are numbered in that order.
 *
 * PROV-JSON mapping
 * - The quantum is an `activity` (`uuid:<quantum id>`, prov:type qb:Quantum) with
 *   `prov:startTime` / `prov:endTime`, its task and data ID, and `prov:location` = host.
 * - Each predicted input and each written output is an `entity` (`uuid:<dataset id>`,
 *   prov:type qb:Dataset) with dataset type, storage class, run, data ID (canonical
 *   `dim=value,...` text), checksum and size when known (an input's from its record, or
 *   the SHA-256 given for it in `inputSha256`). Inputs also carry their final
 *   state in `qb:inputState` (loaded / available / missing / deferred / unused / predicted).
 * - Actual inputs: `used` (with `prov:time` = first use, `prov:role` qb:input or
 *   qb:initInput). Written outputs: `wasGeneratedBy` (with `prov:time` = write time).
 * - Available-but-unused inputs (the predicted/available/actual split neither standard
 *   has) are linked with PROV-DM's generic influence, `wasInfluencedBy`, typed
 *   `qb:availableNotUsed` and carrying `qb:unusedReason`: a valid PROV relation that
 *   plain PROV consumers show as a weak link and never as a usage. Inputs checked missing
 *   get no relation at all, only their entity with `qb:inputState: "missing"`.
 * - Agents: the sidecar (`prov:SoftwareAgent`, with its version and Node version) and the
 *   host (prov:type qb:Host); both are associated with the activity (`wasAssociatedWith`,
 *   roles qb:executor / qb:host), the first with the task as `prov:plan` (an entity of
 *   type prov:Plan).
 * - No `wasDerivedFrom`: derivation is set-level (every output from every used input)
 *   and is implied by used + wasGeneratedBy; spelling it out is N×M relations.
 *
 * OpenLineage mapping
 * - One run per quantum: runId = the quantum id (uuid5 of it if it is not a UUID),
 *   job = {namespace, name: task name}. START at startedAt lists the predicted inputs and
 *   outputs; COMPLETE at endedAt lists the actual inputs and written outputs.
 * - Datasets: namespace = `opts.datasetNamespace ?? opts.namespace`, name =
 *   `<run>/<datasetType>/<data ID key>`, with the custom facet `quantumButler_dataset`
 *   (dataset id, dataset type, storage class, run, data ID, checksum, size). Written
 *   outputs also get the standard `outputStatistics` facet (size, fileCount 1); inputs get
 *   `quantumButler_input` (state, init input, loads, first use, unused reason).
 * - Run facets: standard `processing_engine` (sidecar name and version), and on COMPLETE
 *   the custom `quantumButler_provenance` with the five id sets, the unused inputs with
 *   reasons, diagnostics and metrics. Job facet: standard `jobType` (BATCH / QUANTUM_BUTLER
 *   / QUANTUM).
 */
import { v5 as uuidv5 } from 'uuid';
import { dataIdKey, type DataId } from '../model/data-coordinate.js';
import { DATASET_ID_NAMESPACE } from '../model/dataset-id.js';
import type { DatastoreRecordData } from '../model/datastore-records.js';
import { InvalidArgument, RepositoryError } from '../model/errors.js';
import { setOwn } from '../model/json-value.js';
import { checksumAlgorithm, type ChecksumAlgorithm } from '../util/checksum.js';
import type { DafButlerProvenance, NativeProvenance } from '../../protocol/provenance.js';
import type { OpenLineageFacet, OpenLineageRunEvent, ProvenanceDocument, ProvenanceFormat, ProvJsonDocument } from '../../protocol/provenance-formats.js';

export type { OpenLineageRunEvent, ProvJsonDocument };
import type { Registry } from './registry.js';
import { producerDigests } from './producer-digests.js';

type InputDetail = NativeProvenance['inputs'][number];
type OutputDetail = NativeProvenance['outputs'][number];
type WireRef = InputDetail['ref'];

export const QB_PROV_NAMESPACE = 'urn:x-quantum-butler:prov#';
export const OPENLINEAGE_RUN_EVENT_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
const OL_FACETS = 'https://openlineage.io/spec/facets';
const PROCESSING_ENGINE_SCHEMA = `${OL_FACETS}/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet`;
const JOB_TYPE_SCHEMA = `${OL_FACETS}/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet`;
const OUTPUT_STATISTICS_SCHEMA = `${OL_FACETS}/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet`;
/** Our custom facets' schema base (a URN: the schemas are described in this module, not hosted). */
export const QB_FACET_SCHEMA_BASE = 'urn:x-quantum-butler:openlineage-facets:1';
const RUN_ID_NAMESPACE = uuidv5('quantum-butler:openlineage-run', DATASET_ID_NAMESPACE);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ExportOptions {
  /** Datastore records by datastore name (e.g. a quantum's `datastoreRecords`): checksums and sizes of inputs. */
  records?: Record<string, DatastoreRecordData>;
  /** SHA-256 of inputs by dataset id (their producing quanta's): the checksum of an input whose record has none. */
  inputSha256?: ReadonlyMap<string, string>;
}

export interface OpenLineageOptions extends ExportOptions {
  /** Job namespace (default "quantum-butler"). */
  namespace?: string;
  /** Dataset namespace (default: `namespace`). */
  datasetNamespace?: string;
  /** The producer URI (default: a URN naming the sidecar and version that wrote the document). */
  producer?: string;
}

const byId = <T extends { ref: { id: string } }>(a: T, b: T): number => (a.ref.id < b.ref.id ? -1 : a.ref.id > b.ref.id ? 1 : 0);
const sortedIds = (ids: readonly string[]): string[] => [...new Set(ids)].sort();

function checkNative(doc: NativeProvenance): void {
  if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.inputs) || !Array.isArray(doc.outputs) || typeof doc.quantum !== 'object' || typeof doc.execution !== 'object') {
    throw new InvalidArgument('Expected a native provenance document (schemaVersion, quantum, execution, inputs, outputs, ...).');
  }
}

/** Which algorithm wrote a checksum: daf_butler's blake2b records, or SHA-256 (output digests, older records). */
function algorithmOf(checksum: string): ChecksumAlgorithm | 'unknown' {
  return checksumAlgorithm(checksum) ?? 'unknown';
}

/**
 * First record (any datastore, any table) of each dataset: checksum and size; where the record
 * has no checksum (or there is none), the dataset's SHA-256 from `sha256` if given.
 */
function recordIndex(records: Record<string, DatastoreRecordData> | undefined, sha256?: ReadonlyMap<string, string>): Map<string, { checksum: string | null; size: number | null }> {
  const out = new Map<string, { checksum: string | null; size: number | null }>();
  for (const name of Object.keys(records ?? {}).sort()) {
    for (const [id, tables] of records![name]!) {
      if (out.has(id)) continue;
      for (const table of [...tables.keys()].sort()) {
        const row = tables.get(table)![0];
        if (!row) continue;
        const size = row['file_size'];
        out.set(id, {
          checksum: typeof row['checksum'] === 'string' ? row['checksum'] : null,
          size: typeof size === 'number' && size >= 0 ? size : null,
        });
        break;
      }
    }
  }
  for (const [id, digest] of sha256 ?? []) {
    const r = out.get(id);
    if (!r) out.set(id, { checksum: digest, size: null });
    else if (r.checksum === null) r.checksum = digest;
  }
  return out;
}

function dataIdText(dataId: Readonly<Record<string, string | number>>): string {
  return dataIdKey(dataId as DataId);
}

// ------------------------------------------------------------------ W3C PROV-JSON

const qname = (name: string): { $: string; type: string } => ({ $: name, type: 'xsd:QName' });
const localName = (text: string): string => text.replace(/[^A-Za-z0-9._-]/g, '_');

/** A native provenance document as W3C PROV-JSON (see the module documentation for the mapping). */
export function toProvJson(doc: NativeProvenance, opts: ExportOptions = {}): ProvJsonDocument {
  checkNative(doc);
  const rec = recordIndex(opts.records, opts.inputSha256);
  const activityId = `uuid:${doc.quantum.id}`;
  const sidecar = doc.execution.sidecar;
  const sidecarId = `qb:sidecar-${localName(sidecar.name)}-${localName(sidecar.version)}`;
  const hostId = `qb:host-${localName(doc.execution.host || 'unknown')}`;
  const taskName = doc.quantum.taskName;
  const planId = taskName ? `qb:task-${localName(taskName)}` : null;

  const out: ProvJsonDocument = {
    prefix: { qb: QB_PROV_NAMESPACE, uuid: 'urn:uuid:', xsd: 'http://www.w3.org/2001/XMLSchema#' },
    entity: {},
    activity: {},
    agent: {},
    used: {},
    wasGeneratedBy: {},
    wasAssociatedWith: {},
    wasInfluencedBy: {},
  };

  const entityOf = (ref: WireRef, extra: Record<string, unknown>): Record<string, unknown> => {
    const e: Record<string, unknown> = {
      'prov:type': qname('qb:Dataset'),
      'prov:label': `${ref.datasetType}@{${dataIdText(ref.dataId)}}`,
      'qb:datasetId': ref.id,
      'qb:datasetType': ref.datasetType,
      'qb:storageClass': ref.storageClass,
      'qb:run': ref.run,
      'qb:dataId': dataIdText(ref.dataId),
    };
    return Object.assign(e, extra);
  };

  const inputs = [...doc.inputs].sort(byId);
  const outputs = [...doc.outputs].filter((o) => o.written).sort(byId);
  const actual = new Set(doc.actualInputs);
  const available = new Set(doc.availableInputs);
  const entities = new Map<string, Record<string, unknown>>();
  for (const i of inputs) {
    const r = rec.get(i.ref.id);
    const extra: Record<string, unknown> = { 'qb:inputState': i.state, 'qb:initInput': i.initInput };
    if (r?.checksum) {
      extra['qb:checksum'] = r.checksum;
      extra['qb:checksumAlgorithm'] = algorithmOf(r.checksum);
    }
    if (r?.size !== null && r?.size !== undefined) extra['qb:size'] = { $: r.size, type: 'xsd:long' };
    if (i.unusedReason !== null) extra['qb:unusedReason'] = i.unusedReason;
    entities.set(`uuid:${i.ref.id}`, entityOf(i.ref, extra));
  }
  for (const o of outputs) {
    const extra: Record<string, unknown> = {};
    if (o.sha256) {
      extra['qb:checksum'] = o.sha256;
      extra['qb:checksumAlgorithm'] = 'sha256';
    }
    if (o.size !== null) extra['qb:size'] = { $: o.size, type: 'xsd:long' };
    entities.set(`uuid:${o.ref.id}`, entityOf(o.ref, extra));
  }
  if (planId) entities.set(planId, { 'prov:type': qname('prov:Plan'), 'prov:label': taskName, 'qb:taskName': taskName });
  for (const k of [...entities.keys()].sort()) setOwn(out.entity, k, entities.get(k)!);

  const activity: Record<string, unknown> = {
    'prov:startTime': doc.execution.startedAt,
    'prov:endTime': doc.execution.endedAt,
    'prov:type': qname('qb:Quantum'),
    'prov:label': taskName ?? doc.quantum.id,
    'qb:quantumId': doc.quantum.id,
  };
  if (taskName) activity['qb:taskName'] = taskName;
  if (doc.quantum.dataId) activity['qb:dataId'] = dataIdText(doc.quantum.dataId);
  if (doc.execution.host) activity['prov:location'] = doc.execution.host;
  activity['qb:sessionId'] = doc.execution.sessionId;
  setOwn(out.activity, activityId, activity);

  const agents: Array<[string, Record<string, unknown>]> = [
    [sidecarId, { 'prov:type': qname('prov:SoftwareAgent'), 'prov:label': `${sidecar.name} ${sidecar.version}`, 'qb:name': sidecar.name, 'qb:version': sidecar.version, 'qb:runtime': doc.execution.node, 'qb:pid': doc.execution.pid }],
    [hostId, { 'prov:type': qname('qb:Host'), 'prov:label': doc.execution.host }],
  ];
  for (const [k, v] of agents.sort((a, b) => (a[0] < b[0] ? -1 : 1))) setOwn(out.agent, k, v);

  let n = 0;
  for (const i of inputs) {
    if (!actual.has(i.ref.id)) continue;
    const u: Record<string, unknown> = { 'prov:activity': activityId, 'prov:entity': `uuid:${i.ref.id}` };
    if (i.firstUsedAt) u['prov:time'] = i.firstUsedAt;
    u['prov:role'] = qname(i.initInput ? 'qb:initInput' : 'qb:input');
    setOwn(out.used, `_:u${n++}`, u);
  }
  n = 0;
  for (const o of outputs) {
    const g: Record<string, unknown> = { 'prov:entity': `uuid:${o.ref.id}`, 'prov:activity': activityId };
    if (o.writtenAt) g['prov:time'] = o.writtenAt;
    g['prov:role'] = qname('qb:output');
    setOwn(out.wasGeneratedBy, `_:g${n++}`, g);
  }
  n = 0;
  for (const i of inputs) {
    if (actual.has(i.ref.id) || !available.has(i.ref.id)) continue;
    const inf: Record<string, unknown> = { 'prov:influencee': activityId, 'prov:influencer': `uuid:${i.ref.id}`, 'prov:type': qname('qb:availableNotUsed') };
    if (i.unusedReason !== null) inf['qb:unusedReason'] = i.unusedReason;
    setOwn(out.wasInfluencedBy, `_:i${n++}`, inf);
  }
  const assoc: Record<string, unknown> = { 'prov:activity': activityId, 'prov:agent': sidecarId, 'prov:role': qname('qb:executor') };
  if (planId) assoc['prov:plan'] = planId;
  setOwn(out.wasAssociatedWith, '_:a0', assoc);
  setOwn(out.wasAssociatedWith, '_:a1', { 'prov:activity': activityId, 'prov:agent': hostId, 'prov:role': qname('qb:host') });
  return out;
}

// ------------------------------------------------------------------ OpenLineage

type OpenLineageDataset = NonNullable<OpenLineageRunEvent['inputs']>[number] & NonNullable<OpenLineageRunEvent['outputs']>[number];

/** The OpenLineage runId of a quantum id: the id itself if it is a UUID, else a uuid5 of it. */
export function openLineageRunId(quantumId: string): string {
  return UUID_RE.test(quantumId) ? quantumId.toLowerCase() : uuidv5(quantumId, RUN_ID_NAMESPACE);
}

/** START and COMPLETE RunEvents for one quantum (see the module documentation for the mapping). */
export function toOpenLineage(doc: NativeProvenance, opts: OpenLineageOptions = {}): OpenLineageRunEvent[] {
  checkNative(doc);
  const sidecar = doc.execution.sidecar;
  const producer = opts.producer ?? `urn:x-quantum-butler:producer:${sidecar.name}:${sidecar.version}`;
  const namespace = opts.namespace ?? 'quantum-butler';
  const dsNamespace = opts.datasetNamespace ?? namespace;
  const facet = (schemaURL: string, body: Record<string, unknown>): OpenLineageFacet => ({ _producer: producer, _schemaURL: schemaURL, ...body });
  const qbFacet = (name: string, body: Record<string, unknown>): OpenLineageFacet => facet(`${QB_FACET_SCHEMA_BASE}#/$defs/${name}`, body);
  const rec = recordIndex(opts.records, opts.inputSha256);

  const dataset = (ref: WireRef, checksum: string | null, size: number | null): OpenLineageDataset => {
    const key = dataIdText(ref.dataId);
    return {
      namespace: dsNamespace,
      name: `${ref.run}/${ref.datasetType}${key ? `/${key}` : ''}`,
      facets: {
        quantumButler_dataset: qbFacet('DatasetFacet', {
          datasetId: ref.id,
          datasetType: ref.datasetType,
          storageClass: ref.storageClass,
          run: ref.run,
          dataId: { ...ref.dataId },
          checksum,
          checksumAlgorithm: checksum === null ? null : algorithmOf(checksum),
          size,
        }),
      },
    };
  };
  const inputDataset = (i: InputDetail): OpenLineageDataset => {
    const r = rec.get(i.ref.id);
    return {
      ...dataset(i.ref, r?.checksum ?? null, r?.size ?? null),
      inputFacets: {
        quantumButler_input: qbFacet('InputFacet', {
          state: i.state,
          initInput: i.initInput,
          loads: i.loads,
          firstUsedAt: i.firstUsedAt,
          unusedReason: i.unusedReason,
        }),
      },
    };
  };
  const outputDataset = (o: OutputDetail, written: boolean): OpenLineageDataset => {
    const d = dataset(o.ref, written ? o.sha256 : null, written ? o.size : null);
    if (written && o.size !== null) d.outputFacets = { outputStatistics: facet(OUTPUT_STATISTICS_SCHEMA, { size: o.size, fileCount: 1 }) };
    return d;
  };

  const inputs = [...doc.inputs].sort(byId);
  const outputs = [...doc.outputs].sort(byId);
  const actual = new Set(doc.actualInputs);
  const available = new Set(doc.availableInputs);
  const runId = openLineageRunId(doc.quantum.id);
  const job = {
    namespace,
    name: doc.quantum.taskName ?? `quantum-${doc.quantum.id}`,
    facets: { jobType: facet(JOB_TYPE_SCHEMA, { processingType: 'BATCH', integration: 'QUANTUM_BUTLER', jobType: 'QUANTUM' }) },
  };
  const engine = facet(PROCESSING_ENGINE_SCHEMA, { version: sidecar.version, name: sidecar.name });
  const quantumFacet = qbFacet('QuantumRunFacet', {
    quantumId: doc.quantum.id,
    dataId: doc.quantum.dataId,
    sessionId: doc.execution.sessionId,
    host: doc.execution.host,
    pid: doc.execution.pid,
    runtime: doc.execution.node,
  });

  const start: OpenLineageRunEvent = {
    eventType: 'START',
    eventTime: doc.execution.startedAt,
    run: { runId, facets: { processing_engine: engine, quantumButler_quantum: quantumFacet } },
    job,
    inputs: inputs.map(inputDataset),
    outputs: outputs.map((o) => outputDataset(o, false)),
    producer,
    schemaURL: OPENLINEAGE_RUN_EVENT_SCHEMA,
  };
  const complete: OpenLineageRunEvent = {
    eventType: 'COMPLETE',
    eventTime: doc.execution.endedAt,
    run: {
      runId,
      facets: {
        processing_engine: engine,
        quantumButler_quantum: quantumFacet,
        quantumButler_provenance: qbFacet('ProvenanceRunFacet', {
          predictedInputs: sortedIds(doc.predictedInputs),
          availableInputs: sortedIds(doc.availableInputs),
          actualInputs: sortedIds(doc.actualInputs),
          predictedOutputs: sortedIds(doc.predictedOutputs),
          actualOutputs: sortedIds(doc.actualOutputs),
          availableNotUsed: inputs
            .filter((i) => available.has(i.ref.id) && !actual.has(i.ref.id))
            .map((i) => ({ datasetId: i.ref.id, reason: i.unusedReason })),
          diagnostics: doc.diagnostics.map((d) => ({ ...d, datasetIds: sortedIds(d.datasetIds) })),
          metrics: Object.fromEntries(Object.keys(doc.metrics).sort().map((k) => [k, doc.metrics[k]])),
        }),
      },
    },
    job,
    inputs: inputs.filter((i) => actual.has(i.ref.id)).map(inputDataset),
    outputs: outputs.filter((o) => o.written).map((o) => outputDataset(o, true)),
    producer,
    schemaURL: OPENLINEAGE_RUN_EVENT_SCHEMA,
  };
  return [start, complete];
}

// ------------------------------------------------------------------ daf_butler

/** daf_butler's QuantumProvenanceData of a native document: the five id sets (sorted) and the records. */
export function toDafButler(doc: NativeProvenance): DafButlerProvenance {
  checkNative(doc);
  const records: DafButlerProvenance['datastore_records'] = {};
  for (const name of Object.keys(doc.datastoreRecords).sort()) setOwn(records, name, doc.datastoreRecords[name]!);
  return {
    predicted_inputs: sortedIds(doc.predictedInputs),
    available_inputs: sortedIds(doc.availableInputs),
    actual_inputs: sortedIds(doc.actualInputs),
    predicted_outputs: sortedIds(doc.predictedOutputs),
    actual_outputs: sortedIds(doc.actualOutputs),
    datastore_records: records,
  };
}

// ------------------------------------------------------------------ stored quanta

export type ExportFormat = ProvenanceFormat;

/**
 * A stored quantum's provenance in `format`. Input checksums come from the registry's
 * records, or where a record has none (a repository's default) the SHA-256 the input's
 * producing quantum recorded (producer-digests.ts). A quantum stored with a daf_butler document can only be exported as
 * daf_butler: that format has no task, times or agents to build the others from.
 */
export async function exportStoredProvenance<F extends ExportFormat>(registry: Registry, quantumId: string, format: F, opts: OpenLineageOptions = {}): Promise<ProvenanceDocument<F>> {
  return (await exportAny(registry, quantumId, format, opts)) as ProvenanceDocument<F>;
}

async function exportAny(registry: Registry, quantumId: string, format: ExportFormat, opts: OpenLineageOptions): Promise<unknown> {
  const q = await registry.getQuantum(quantumId);
  if (!q) throw new RepositoryError(`Quantum ${quantumId} is not stored in the registry.`, { details: { quantumId } });
  const doc = await registry.quantumProvenance(quantumId);
  if (q.format === 'daf_butler') {
    if (format === 'daf_butler') return doc;
    throw new InvalidArgument(
      `Quantum ${quantumId} was collected with a daf_butler QuantumProvenanceData document, which has no task, timing or agent information; only the 'daf_butler' format can be exported.`,
      { details: { quantumId, storedFormat: q.format, requested: format } },
    );
  }
  const native = doc as NativeProvenance;
  switch (format) {
    case 'native':
      return native;
    case 'daf_butler':
      return toDafButler(native);
    case 'prov':
    case 'openlineage': {
      const records = opts.records ?? (await registry.recordsFor(native.predictedInputs));
      const known = recordIndex(records);
      const inputSha256 = await producerDigests(registry, native.predictedInputs.filter((id) => !known.get(id)?.checksum));
      return format === 'prov' ? toProvJson(native, { records, inputSha256 }) : toOpenLineage(native, { ...opts, records, inputSha256 });
    }
    default:
      throw new InvalidArgument(`Unknown provenance format '${String(format)}'.`, { details: { format } });
  }
}
