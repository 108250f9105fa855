/**
 * QuantumBackedButler: the data access layer of one quantum. It reads predicted
 * inputs, writes predicted outputs, refuses anything else, and derives exact
 * provenance from a per-input state machine. One per session; the caller
 * serialises calls (the server does, per session).
 *
 * Over 500 lines as one cohesive thing: daf_butler's LimitedButler surface, each method a
 * thin step over predicted-refs.ts, input-state.ts and the datastore.
 */
import { v4 as uuidv4 } from 'uuid';
import type { DatasetId } from '../model/dataset-id.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import { withStorageClass } from '../model/dataset-ref.js';
import { dataIdKey, type DataId } from '../model/data-coordinate.js';
import { splitComponent, type DatasetType } from '../model/dataset-type.js';
import {
  CannotPruneInput,
  DatasetNotFound,
  DeferredHandleNotFound,
  InvalidPruneArguments,
  NotPredictedInput,
  NotPredictedOutput,
  PredictedRefMismatch,
  InvalidArgument,
} from '../model/errors.js';
import type { ProvenanceEvent, ProvenanceEventKind } from '../../protocol/provenance.js';
import type {
  Datastore,
  DatasetURIs,
  OperationContext,
  PutSource,
  ReadRequest,
  ReadResult,
  RetrievedArtifact,
  RetrieveOptions,
  StoredArtifact,
} from '../datastore/datastore.js';
import type { StorageClassRegistry } from '../model/storage-class.js';
import type { DimensionUniverse } from '../model/dimensions/dimension-universe.js';
import type { DatastoreRecordData } from '../model/datastore-records.js';
import { formatterFor } from '../datastore/formatters.js';
import { loadPutSource } from '../datastore/file-transfer.js';
import { coerceForWrite, convertValue } from '../datastore/storage-class-delegate.js';
import {
  PREDICTED,
  onChecked,
  onDeferredIssued,
  onLoadFailed,
  onLoaded,
  onMarkedUnused,
  stateName,
} from './input-state.js';
import { countDone, countFailed, emptyMetrics, timed, type ButlerMetrics } from './metrics.js';
import {
  dafButlerProvenance,
  nativeProvenance,
  provenanceSets,
  type InputEntry,
  type OutputEntry,
  type ProvenanceSets,
} from './provenance.js';
import { PredictedRefs, type RefArg } from './predicted-refs.js';
import type { DafButlerProvenance, NativeProvenance } from '../../protocol/provenance.js';
import { isoNow } from '../util/time.js';
import { isAbsolute } from 'node:path';

export type { RefArg } from './predicted-refs.js';

export interface ButlerOptions {
  sessionId: string;
  quantumId: string;
  taskName: string | null;
  dataId: DataId | null;
  inputs: readonly DatasetRef[];
  initInputs: readonly DatasetRef[];
  outputs: readonly DatasetRef[];
  datastore: Datastore;
  storageClasses: StorageClassRegistry;
  /** Registry dataset types, by name: the storage class each dataset is stored in (daf_butler's `dataset_types`). */
  datasetTypes: ReadonlyMap<string, DatasetType>;
  strictDeferred: boolean;
  /** The dimension universe the session's refs and data IDs belong to. */
  universe: DimensionUniverse;
  onEvent?: (event: ProvenanceEvent) => void;
}

interface DeferredHandle {
  ref: DatasetRef;
  parameters?: Record<string, unknown>;
  storageClass?: string;
}

export interface PruneOptions {
  disassociate: boolean;
  unstore: boolean;
  purge: boolean;
}

const NOT_PREDICTED_PUT = 'Cannot `put` dataset that was not predicted as an output.';

export class QuantumBackedButler {
  readonly sessionId: string;
  readonly quantumId: string;
  readonly startedAt = isoNow();
  readonly metrics: ButlerMetrics = emptyMetrics();
  private readonly predicted: PredictedRefs;
  private readonly inputs = new Map<DatasetId, InputEntry>();
  private readonly outputs = new Map<DatasetId, OutputEntry>();
  private readonly handles = new Map<string, DeferredHandle>();
  private seq = 0;
  private closed = false;

  constructor(private readonly opts: ButlerOptions) {
    this.sessionId = opts.sessionId;
    this.quantumId = opts.quantumId;
    this.predicted = new PredictedRefs(opts, opts.datasetTypes, opts.storageClasses);
    // One provenance entry per id, for the composite: a component read is a read of its parent.
    for (const [id, initInput] of this.predicted.inputIds) {
      this.inputs.set(id, { ref: this.predicted.composite(id)!, initInput, state: PREDICTED, firstUsedAt: null, loads: 0 });
    }
    for (const id of this.predicted.outputIds) {
      this.outputs.set(id, { ref: this.predicted.composite(id)!, written: null, sha256: null, writtenAt: null, pruned: false, annotation: null });
    }
  }

  get datastore(): Datastore {
    return this.opts.datastore;
  }

  get datasetTypes(): ReadonlyMap<string, DatasetType> {
    return this.opts.datasetTypes;
  }

  get storageClasses(): StorageClassRegistry {
    return this.opts.storageClasses;
  }

  /** daf_butler's `LimitedButler.dimensions`: the session's dimension universe. */
  get dimensions(): DimensionUniverse {
    return this.opts.universe;
  }

  get taskName(): string | null {
    return this.opts.taskName;
  }

  get predictedInputCount(): number {
    return this.inputs.size;
  }

  get predictedOutputCount(): number {
    return this.outputs.size;
  }

  isWriteable(): boolean {
    return true;
  }

  // ---- events -------------------------------------------------------------------

  /** `time`: when it happened, if not now (the checks of one storedMany are one check). */
  private emit(event: ProvenanceEventKind, ref: DatasetRef, extra?: Partial<ProvenanceEvent>, time?: string): void {
    this.seq++;
    const onEvent = this.opts.onEvent;
    if (onEvent === undefined) return;
    // One shape for the events without extra members (no empty object spread into each).
    const e: ProvenanceEvent = { sessionId: this.sessionId, seq: this.seq, event, datasetId: ref.id, datasetType: ref.datasetType.name, time: time ?? isoNow() };
    onEvent(extra === undefined ? e : Object.assign(e, extra));
  }

  /** emit's outputWritten, its members in one literal (no extra object assigned onto the event). */
  private emitWritten(ref: DatasetRef, size: number, sha256: string, time: string): void {
    this.seq++;
    const onEvent = this.opts.onEvent;
    if (onEvent === undefined) return;
    onEvent({ sessionId: this.sessionId, seq: this.seq, event: 'outputWritten', datasetId: ref.id, datasetType: ref.datasetType.name, time, size, sha256 });
  }

  private setInput(entry: InputEntry, next: InputEntry['state']): void {
    entry.state = next;
  }

  // ---- ref resolution -------------------------------------------------------------

  /** The predicted composite ref (input or output) with this id, if any. */
  predictedRef(id: DatasetId): DatasetRef | undefined {
    return this.predicted.composite(id);
  }

  /** The ref to read, check or write for a ref argument (see PredictedRefs.resolve). */
  resolve(arg: RefArg, purpose: 'read' | 'write' | 'check'): DatasetRef {
    return this.predicted.resolve(arg, purpose);
  }

  /** How the datastore holds `ref` (registry composite) and what to ask it for. */
  storageView(ref: DatasetRef, request: ReadRequest = {}): { ref: DatasetRef; request: ReadRequest } {
    return this.predicted.storageView(ref, request);
  }

  // ---- reads ----------------------------------------------------------------------

  async get(arg: RefArg, request: ReadRequest = {}, ctx?: OperationContext): Promise<ReadResult & { ref: DatasetRef }> {
    this.assertOpen();
    const ref = this.resolve(arg, 'read');
    const view = this.storageView(ref, request);
    const { bytesRead, ...result } = await this.read(ref, () => this.opts.datastore.get(view.ref, view.request, ctx));
    this.metrics.bytes_read += bytesRead;
    return { ...result, ref };
  }

  /**
   * Run one read with the bookkeeping of the state machine. A predicted input's read is
   * recorded; any other dataset (a predicted output, or one not predicted at all) is read
   * untracked, as daf_butler's QuantumBackedButler.get does.
   */
  private async read<T>(ref: DatasetRef, op: () => Promise<T>): Promise<T> {
    const entry = this.inputs.get(ref.id);
    try {
      const result = await timed(this.metrics, 'get', op);
      if (entry) {
        this.setInput(entry, onLoaded(entry.state));
        entry.loads++;
        entry.firstUsedAt ??= isoNow();
        this.emit('inputLoaded', entry.ref);
      }
      return result;
    } catch (err) {
      if (err instanceof DatasetNotFound && entry) {
        this.setInput(entry, onLoadFailed(entry.state));
        this.emit('inputLoadFailed', entry.ref, { reason: err.message });
      }
      throw err;
    }
  }

  /** Would a read of `arg` (with no request) return the stored bytes unchanged (no component, no conversion)? */
  readsAsStored(arg: RefArg): boolean {
    return this.storedClassIfAsStored(arg) !== undefined;
  }

  /** The storage class the dataset is stored in when a read of `arg` returns the stored bytes unchanged, else undefined (one resolve for both questions). */
  storedClassIfAsStored(arg: RefArg): string | undefined {
    const { ref, request } = this.storageView(this.resolve(arg, 'read'));
    return request.component === undefined && request.storageClass === undefined ? ref.datasetType.storageClass : undefined;
  }

  /** The stored bytes of a dataset (for byte encodings), with the same bookkeeping as get. */
  async getBytes(arg: RefArg, ctx?: OperationContext): Promise<{ bytes: Buffer; ref: DatasetRef; storageClass: string; formatter: string }> {
    this.assertOpen();
    const ref = this.resolve(arg, 'read');
    const stored = this.storageView(ref).ref;
    const { bytes, info } = await this.read(ref, () => this.opts.datastore.getBytes(stored, ctx));
    this.metrics.bytes_read += bytes.length;
    return { bytes, ref, storageClass: info.storage_class, formatter: info.formatter };
  }

  /** The stored bytes of a dataset written to the file `dest` (see Datastore.getToFile), with the same bookkeeping as get. */
  async getToFile(arg: RefArg, dest: string, ctx?: OperationContext): Promise<{ size: number; ref: DatasetRef; storageClass: string }> {
    this.assertOpen();
    const ref = this.resolve(arg, 'read');
    const stored = this.storageView(ref).ref;
    const { size, info } = await this.read(ref, () => this.opts.datastore.getToFile(stored, dest, ctx));
    this.metrics.bytes_read += size;
    return { size, ref, storageClass: info.storage_class };
  }

  /** A handle that reads later; no existence check (daf_butler DM-40297). */
  getDeferred(arg: RefArg, parameters?: Record<string, unknown>, storageClass?: string): { handle: string; ref: DatasetRef } {
    this.assertOpen();
    const ref = this.resolve(arg, 'read');
    const handle = uuidv4();
    this.handles.set(handle, { ref, parameters, storageClass });
    const entry = this.inputs.get(ref.id);
    if (entry) {
      this.setInput(entry, onDeferredIssued(entry.state));
      this.emit('deferredIssued', entry.ref, { handle });
    }
    return { handle, ref };
  }

  /** Resolve a deferred handle into the arguments of a get (call params override the handle's). */
  deferred(handle: string, request: ReadRequest): { arg: RefArg; request: ReadRequest } {
    this.assertOpen();
    const h = this.handles.get(handle);
    if (!h) throw new DeferredHandleNotFound(`No deferred handle ${handle} in session ${this.sessionId}.`, { sessionId: this.sessionId });
    const parameters = h.parameters || request.parameters ? { ...h.parameters, ...request.parameters } : undefined;
    if (request.component !== undefined) {
      // The handle's storage class applies to the composite, the call's to the component.
      const composite = h.storageClass ? withStorageClass(h.ref, h.storageClass) : h.ref;
      return { arg: { ref: composite }, request: { component: request.component, parameters, storageClass: request.storageClass } };
    }
    return { arg: { ref: h.ref }, request: { parameters, storageClass: request.storageClass ?? h.storageClass } };
  }

  async stored(arg: RefArg): Promise<boolean> {
    const map = await this.storedMany([arg]);
    return [...map.values()][0]!;
  }

  async storedMany(args: readonly RefArg[]): Promise<Map<DatasetId, boolean>> {
    this.assertOpen();
    const refs = args.map((a) => this.resolve(a, 'check'));
    const found = await this.opts.datastore.mexists(refs.map((r) => this.storageView(r).ref));
    // One existence check answered them all: their events carry its time (and so stay one run of butler/provenanceRuns).
    const checkedAt = isoNow();
    for (const ref of refs) {
      const entry = this.inputs.get(ref.id);
      if (!entry) continue; // non-predicted ids never enter provenance
      const present = found.get(ref.id) === true;
      this.setInput(entry, onChecked(entry.state, present));
      this.emit(present ? 'inputCheckedAvailable' : 'inputCheckedMissing', entry.ref, undefined, checkedAt);
    }
    return found;
  }

  markInputUnused(arg: RefArg, reason = 'unspecified'): string {
    this.assertOpen();
    const id = 'ref' in arg ? arg.ref.id : arg.id;
    const entry = this.inputs.get(id);
    if (!entry) {
      throw new NotPredictedInput(`Dataset ${id} is not a predicted input of this quantum; it cannot be marked unused.`, {
        datasetId: id,
      });
    }
    this.setInput(entry, onMarkedUnused(entry.state, reason));
    this.emit('inputMarkedUnused', entry.ref, { reason });
    return stateName(entry.state);
  }

  // ---- writes ---------------------------------------------------------------------

  /**
   * Write a predicted output. The value comes in the ref's storage class (the connection's, when
   * the quantum adapts it) and is stored in the registry's, converted, as daf_butler's datastore
   * does; the record names the registry's class.
   */
  async put(arg: RefArg, source: PutSource, ctx?: OperationContext, annotation?: unknown): Promise<StoredArtifact & { ref: DatasetRef }> {
    this.assertOpen();
    const id = 'ref' in arg ? arg.ref.id : arg.id;
    const entry = this.outputs.get(id);
    if (!entry) {
      throw new NotPredictedOutput(NOT_PREDICTED_PUT, { datasetId: id, details: { isInput: this.inputs.has(id) } });
    }
    const ref = 'ref' in arg ? this.resolve(arg, 'write') : entry.ref;
    const given = 'ref' in arg ? arg.ref.datasetType.storageClass : entry.ref.datasetType.storageClass;
    const stored = this.predicted.registryRef(entry.ref);
    const target = stored.datasetType.storageClass;
    if (given !== target && !this.opts.storageClasses.canConvert(given, target)) {
      throw new PredictedRefMismatch(`Storage class ${given} cannot be converted to the registry's ${target} of ${stored.datasetType.name}.`, {
        datasetId: id,
        details: { given, registry: target, predicted: entry.ref.datasetType.storageClass },
      });
    }
    let src = given !== target ? await loadPutSource(source) : source;
    if (given !== target && src.kind === 'bytes' && formatterFor(this.opts.storageClasses.get(given)) !== formatterFor(this.opts.storageClasses.get(target))) {
      // Bytes in the given class's format: read them as such, then store the value converted.
      src = { kind: 'value', value: formatterFor(this.opts.storageClasses.get(given)).fromBytes(src.bytes) };
    }
    if (given !== target && src.kind === 'value') {
      const from = this.opts.storageClasses.get(given);
      const to = this.opts.storageClasses.get(target);
      src = { kind: 'value', value: convertValue(coerceForWrite(src.value, from.name, this.opts.storageClasses), from, to) };
    }
    // timed's counting without its async frame: one promise and one turn fewer per put; and no
    // await at all when the datastore writes in this turn (putNow): two turns fewer again.
    const start = performance.now();
    const ds = this.opts.datastore;
    let artifact: StoredArtifact;
    try {
      const done = ds.putNow !== undefined ? ds.putNow(src, stored, ctx) : ds.put(src, stored, ctx);
      artifact = done instanceof Promise ? await done : done;
    } catch (err) {
      countFailed(this.metrics, 'put');
      throw err;
    }
    countDone(this.metrics, 'put', start);
    this.metrics.bytes_written += artifact.info.file_size;
    if (!artifact.unchanged || entry.written === null) {
      const at = isoNow(); // the event's time too
      entry.written = artifact.info;
      entry.sha256 = artifact.sha256;
      entry.writtenAt = at;
      entry.pruned = false;
      entry.annotation = annotation ?? null;
      this.emitWritten(entry.ref, artifact.info.file_size, artifact.sha256, at);
    }
    return { info: artifact.info, uri: artifact.uri, unchanged: artifact.unchanged, sha256: artifact.sha256, ref };
  }

  /**
   * Remove written outputs. Argument rules and texts are daf_butler's; unlike it,
   * inputs can never be pruned and an unstored output leaves actual outputs, so
   * provenance never claims an output that has no artifact.
   */
  async pruneDatasets(args: readonly RefArg[], opts: PruneOptions): Promise<DatasetId[]> {
    this.assertOpen();
    if (opts.purge) {
      if (!opts.disassociate) throw new InvalidPruneArguments('Cannot pass purge=True without disassociate=True.');
      if (!opts.unstore) throw new InvalidPruneArguments('Cannot pass purge=True without unstore=True.');
    } else if (opts.disassociate) {
      throw new InvalidPruneArguments('Cannot pass disassociate=True without purge=True.');
    }
    const refs: DatasetRef[] = [];
    for (const arg of args) {
      if ('ref' in arg && splitComponent(arg.ref.datasetType.name).component !== undefined) {
        throw new InvalidArgument(`Can not prune a component of a dataset (ref=${arg.ref.datasetType.name}@${dataIdKey(arg.ref.dataId)} ${arg.ref.id})`, {
          datasetId: arg.ref.id,
        });
      }
      if (!('ref' in arg) && arg.component !== undefined) {
        throw new InvalidArgument(`Can not prune a component of a dataset (ref=${arg.id})`, { datasetId: arg.id });
      }
      const id = 'ref' in arg ? arg.ref.id : arg.id;
      if (this.inputs.has(id)) {
        throw new CannotPruneInput(`Dataset ${id} is an input of this quantum; inputs are never pruned.`, { datasetId: id });
      }
      const entry = this.outputs.get(id);
      if (!entry) throw new NotPredictedOutput(`Dataset ${id} is not a predicted output of this quantum; it cannot be pruned.`, { datasetId: id });
      refs.push(entry.ref);
    }
    if (refs.length === 0 || !opts.unstore) return [];
    const ds = this.opts.datastore;
    await ds.trash(refs, true);
    await ds.emptyTrash(refs);
    for (const ref of refs) {
      const entry = this.outputs.get(ref.id)!;
      const wasWritten = entry.written !== null;
      entry.written = null;
      entry.sha256 = null;
      entry.writtenAt = null;
      entry.pruned = true;
      if (wasWritten) this.emit('outputPruned', ref, { reason: opts.purge ? 'purge' : 'unstore' });
    }
    return refs.map((r) => r.id);
  }

  /**
   * Records the datastore expects to hold for these refs, without touching it
   * (daf_butler export_predicted_datastore_records). Every ref must be predicted.
   */
  exportPredictedRecords(args: readonly RefArg[]): Record<string, DatastoreRecordData> {
    this.assertOpen();
    const unknown = args.map((a) => ('ref' in a ? a.ref.id : a.id)).filter((id) => !this.predictedRef(id));
    if (unknown.length > 0) {
      throw new InvalidArgument(`Cannot export datastore records for unknown outputs: [${unknown.join(', ')}]`, { details: { unknown } });
    }
    const data = this.opts.datastore.exportPredictedRecords(args.map((a) => this.storageRef(this.resolve(a, 'check'))));
    return data.size === 0 && this.opts.datastore.isEphemeral ? {} : { [this.opts.datastore.name]: data };
  }

  /** The datastore's ref of a resolved ref: the registry composite. */
  private storageRef(ref: DatasetRef): DatasetRef {
    return this.storageView(ref).ref;
  }

  async getURIs(arg: RefArg, predict: boolean): Promise<DatasetURIs> {
    this.assertOpen();
    return this.opts.datastore.getURIs(this.storageRef(this.resolve(arg, 'check')), predict);
  }

  /** daf_butler get_many_uris: URIs by dataset id; no provenance is recorded. */
  async getManyURIs(args: readonly RefArg[], predict: boolean, allowMissing: boolean): Promise<Map<DatasetId, DatasetURIs>> {
    this.assertOpen();
    return this.opts.datastore.getManyURIs(args.map((a) => this.storageRef(this.resolve(a, 'check'))), predict, allowMissing);
  }

  /** daf_butler get_datastore_roots: datastore name → root URI (null for an in-memory datastore). */
  datastoreRoots(): Record<string, string | null> {
    return { ...this.opts.datastore.roots };
  }

  /** daf_butler get_datastore_names. */
  datastoreNames(): string[] {
    return Object.keys(this.opts.datastore.roots);
  }

  /**
   * daf_butler retrieve_artifacts: copy (or link) the artifacts of these datasets into a
   * directory with a `_butler_zip_index.json`; returns the files written. Reads nothing into
   * provenance, as in daf_butler.
   */
  async retrieveArtifacts(args: readonly RefArg[], opts: RetrieveOptions, ctx?: OperationContext): Promise<RetrievedArtifact[]> {
    this.assertOpen();
    const refs = args.map((a) => this.resolve(a, 'check'));
    const sources = await this.opts.datastore.artifacts(refs.map((r) => this.storageRef(r)));
    // Imported on first use (as below): loading the retrieval and Zip code (fflate) is not part of a start.
    const { retrieveInto } = await import('../datastore/retrieve-artifacts.js');
    return retrieveInto(refs, sources, opts, this.opts.universe, ctx);
  }

  /** daf_butler retrieve_artifacts_zip: the artifacts and their index in one Zip in `destination`; returns its path. */
  async retrieveArtifactsZip(args: readonly RefArg[], destination: string, overwrite: boolean): Promise<string> {
    this.assertOpen();
    if (args.length === 0) throw new InvalidArgument('Requested Zip file with no contents.');
    if (!isAbsolute(destination)) throw new InvalidArgument(`File paths must be absolute: ${JSON.stringify(destination)}`);
    const refs = args.map((a) => this.resolve(a, 'check'));
    const sources = await this.opts.datastore.artifacts(refs.map((r) => this.storageRef(r)));
    const { writeArtifactZip } = await import('../datastore/zip-index.js');
    return writeArtifactZip(destination, refs, sources, overwrite, this.opts.universe);
  }

  // ---- provenance -----------------------------------------------------------------

  private source() {
    return {
      sessionId: this.sessionId,
      quantumId: this.quantumId,
      taskName: this.opts.taskName,
      dataId: this.opts.dataId,
      startedAt: this.startedAt,
      strictDeferred: this.opts.strictDeferred,
      datastoreName: this.opts.datastore.name,
      datastoreIsEphemeral: this.opts.datastore.isEphemeral,
      inputs: this.inputs,
      outputs: this.outputs,
      metrics: this.metrics,
    };
  }

  sets(): ProvenanceSets {
    return provenanceSets(this.source());
  }

  extractProvenance(format: 'native'): NativeProvenance;
  extractProvenance(format: 'daf_butler'): DafButlerProvenance;
  extractProvenance(format: 'native' | 'daf_butler'): NativeProvenance | DafButlerProvenance;
  extractProvenance(format: 'native' | 'daf_butler'): NativeProvenance | DafButlerProvenance {
    return format === 'daf_butler' ? dafButlerProvenance(this.source()) : nativeProvenance(this.source(), isoNow());
  }

  resetMetrics(): void {
    Object.assign(this.metrics, emptyMetrics());
  }

  close(): NativeProvenance {
    const doc = this.extractProvenance('native');
    this.closed = true;
    this.handles.clear();
    return doc;
  }

  private assertOpen(): void {
    if (this.closed) throw new InvalidArgument(`Session ${this.sessionId} is closed.`, { sessionId: this.sessionId });
  }
}
