/**
 * QuantumBackedButler: the data access layer of one quantum. It reads predicted
 * inputs, writes predicted outputs, refuses anything else, and derives exact
 * provenance from a per-input state machine. One per session; the caller
 * serialises calls (the server does, per session).
 */
import { v4 as uuidv4 } from 'uuid';
import type { DatasetId } from '../model/dataset-id.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import { refFieldsMismatch, withStorageClass } from '../model/dataset-ref.js';
import { dataIdKey, type DataId } from '../model/data-coordinate.js';
import { makeComponentDatasetType, splitComponent, type DatasetType } from '../model/dataset-type.js';
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
import type { Datastore, OperationContext, PutSource, ReadRequest, ReadResult, StoredArtifact, DatasetURIs } from '../datastore/datastore.js';
import type { StorageClassRegistry } from '../model/storage-class.js';
import type { DimensionUniverse } from '../model/dimensions/dimension-universe.js';
import type { DatastoreRecordData } from '../model/datastore-records.js';
import {
  PREDICTED,
  onChecked,
  onDeferredIssued,
  onLoadFailed,
  onLoaded,
  onMarkedUnused,
  stateName,
} from './input-state.js';
import { emptyMetrics, timed, type ButlerMetrics } from './metrics.js';
import {
  dafButlerProvenance,
  nativeProvenance,
  provenanceSets,
  type InputEntry,
  type OutputEntry,
  type ProvenanceSets,
} from './provenance.js';
import type { DafButlerProvenance, NativeProvenance } from '../../protocol/provenance.js';
import { isoNow } from '../util/time.js';

/** What a ref argument can be: a full ref, or an id the butler resolves from its predictions. */
export type RefArg = { ref: DatasetRef } | { id: DatasetId; component?: string; storageClass?: string };

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
  /** Registry dataset types, by name (used to resolve component and override reads). */
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
  private readonly inputs = new Map<DatasetId, InputEntry>();
  private readonly outputs = new Map<DatasetId, OutputEntry>();
  private readonly handles = new Map<string, DeferredHandle>();
  private seq = 0;
  private closed = false;

  constructor(private readonly opts: ButlerOptions) {
    this.sessionId = opts.sessionId;
    this.quantumId = opts.quantumId;
    for (const ref of opts.initInputs) this.inputs.set(ref.id, { ref, initInput: true, state: PREDICTED, firstUsedAt: null, loads: 0 });
    for (const ref of opts.inputs) {
      if (!this.inputs.has(ref.id)) this.inputs.set(ref.id, { ref, initInput: false, state: PREDICTED, firstUsedAt: null, loads: 0 });
    }
    for (const ref of opts.outputs) {
      if (this.inputs.has(ref.id)) {
        throw new InvalidArgument(`Dataset ${ref.id} is predicted both as an input and as an output.`, { datasetId: ref.id });
      }
      this.outputs.set(ref.id, { ref, written: null, pruned: false, annotation: null });
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

  private emit(event: ProvenanceEventKind, ref: DatasetRef, extra: Partial<ProvenanceEvent> = {}): void {
    this.seq++;
    this.opts.onEvent?.({
      sessionId: this.sessionId,
      seq: this.seq,
      event,
      datasetId: ref.id,
      datasetType: ref.datasetType.name,
      time: isoNow(),
      ...extra,
    });
  }

  private setInput(entry: InputEntry, next: InputEntry['state']): void {
    entry.state = next;
  }

  // ---- ref resolution -------------------------------------------------------------

  /** The predicted ref (input or output) with this id, if any. */
  predictedRef(id: DatasetId): DatasetRef | undefined {
    return this.inputs.get(id)?.ref ?? this.outputs.get(id)?.ref;
  }

  /**
   * Turn a ref argument into the ref to read: a predicted ref is checked against
   * what the caller gave, and a component or storage-class override is applied.
   */
  resolve(arg: RefArg, purpose: 'read' | 'write' | 'check'): DatasetRef {
    let base: DatasetRef;
    let component: string | undefined;
    let storageClass: string | undefined;
    if ('ref' in arg) {
      const given = arg.ref;
      const split = splitComponent(given.datasetType.name);
      component = split.component;
      const predicted = this.predictedRef(given.id);
      if (predicted) {
        const parentGiven = component === undefined ? given : { ...given, datasetType: { ...given.datasetType, name: split.parent, storageClass: given.datasetType.parentStorageClass ?? predicted.datasetType.storageClass, parentStorageClass: undefined } };
        const mismatch = refFieldsMismatch(predicted, parentGiven, this.opts.storageClasses);
        if (mismatch.length > 0) {
          const what = purpose === 'write' ? 'predicted output' : 'predicted ref';
          throw new PredictedRefMismatch(`The ref given for ${given.id} does not match the ${what}: ${mismatch.join(', ')} differ.`, {
            datasetId: given.id,
            details: { fields: mismatch, predicted: summary(predicted), given: summary(given) },
          });
        }
        base = predicted;
        if (component === undefined && given.datasetType.storageClass !== predicted.datasetType.storageClass) {
          storageClass = given.datasetType.storageClass;
        }
      } else {
        base = component === undefined ? given : { ...given, datasetType: this.parentType(given.datasetType) };
      }
    } else {
      const predicted = this.predictedRef(arg.id);
      if (!predicted) {
        throw new DatasetNotFound(
          `Dataset ${arg.id} is not among this quantum's predicted inputs or outputs, and only its id was given.`,
          { datasetId: arg.id, details: { predicted: false } },
        );
      }
      base = predicted;
      component = arg.component;
      storageClass = arg.storageClass;
    }
    let ref = base;
    if (storageClass !== undefined && purpose !== 'write') ref = withStorageClass(ref, storageClass);
    if (component !== undefined) {
      if (purpose === 'write') {
        throw new InvalidArgument(`Cannot put a component (${base.datasetType.name}.${component}); put the composite.`, {
          datasetId: base.id,
        });
      }
      ref = { ...ref, datasetType: makeComponentDatasetType(ref.datasetType, component, this.opts.storageClasses) };
    }
    return ref;
  }

  private parentType(dt: DatasetType): DatasetType {
    const { parent } = splitComponent(dt.name);
    const known = this.opts.datasetTypes.get(parent);
    if (known) return known;
    if (!dt.parentStorageClass) {
      throw new InvalidArgument(`Component dataset type '${dt.name}' constructed without parent storage class`);
    }
    return { ...dt, name: parent, storageClass: dt.parentStorageClass, parentStorageClass: undefined };
  }

  // ---- reads ----------------------------------------------------------------------

  async get(arg: RefArg, request: ReadRequest = {}, ctx?: OperationContext): Promise<ReadResult & { ref: DatasetRef }> {
    this.assertOpen();
    const ref = this.resolve(arg, 'read');
    const { bytesRead, ...result } = await this.read(ref, () => this.opts.datastore.get(ref, request, ctx));
    this.metrics.bytesRead += bytesRead;
    return { ...result, ref };
  }

  /**
   * Run one read with the bookkeeping of the state machine. Only predicted inputs and
   * outputs may be read: anything else is refused (or reported missing if it is).
   */
  private async read<T>(ref: DatasetRef, op: () => Promise<T>): Promise<T> {
    const entry = this.inputs.get(ref.id);
    if (!entry && !this.outputs.has(ref.id)) {
      this.metrics.nGetFailed++;
      if (await this.opts.datastore.exists(ref)) {
        throw new NotPredictedInput(`Dataset ${ref.datasetType.name}@${dataIdKey(ref.dataId)} (${ref.id}) is not a predicted input of this quantum.`, {
          datasetId: ref.id,
        });
      }
      throw new DatasetNotFound(`No such dataset: ${ref.id} (it is not a predicted input of this quantum either)`, {
        datasetId: ref.id,
        details: { predicted: false },
      });
    }
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

  /** The stored bytes of a dataset (for byte encodings), with the same bookkeeping as get. */
  async getBytes(arg: RefArg, ctx?: OperationContext): Promise<{ bytes: Buffer; ref: DatasetRef; storageClass: string }> {
    this.assertOpen();
    const ref = this.resolve(arg, 'read');
    const { bytes, info } = await this.read(ref, () => this.opts.datastore.getBytes(ref, ctx));
    this.metrics.bytesRead += bytes.length;
    return { bytes, ref, storageClass: info.storage_class };
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
    const found = await this.opts.datastore.mexists(refs);
    for (const ref of refs) {
      const entry = this.inputs.get(ref.id);
      if (!entry) continue; // non-predicted ids never enter provenance
      const present = found.get(ref.id) === true;
      this.setInput(entry, onChecked(entry.state, present));
      this.emit(present ? 'inputCheckedAvailable' : 'inputCheckedMissing', entry.ref);
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

  async put(arg: RefArg, source: PutSource, ctx?: OperationContext, annotation?: unknown): Promise<StoredArtifact & { ref: DatasetRef }> {
    this.assertOpen();
    const id = 'ref' in arg ? arg.ref.id : arg.id;
    const entry = this.outputs.get(id);
    if (!entry) {
      throw new NotPredictedOutput(NOT_PREDICTED_PUT, { datasetId: id, details: { isInput: this.inputs.has(id) } });
    }
    const ref = 'ref' in arg ? this.resolve(arg, 'write') : entry.ref;
    if ('ref' in arg && arg.ref.datasetType.storageClass !== entry.ref.datasetType.storageClass) {
      // The value is given in another (convertible) class: the datastore converts it to the predicted one.
      if (!this.opts.storageClasses.canConvert(arg.ref.datasetType.storageClass, entry.ref.datasetType.storageClass)) {
        throw new PredictedRefMismatch(
          `Storage class ${arg.ref.datasetType.storageClass} cannot be converted to the predicted ${entry.ref.datasetType.storageClass}.`,
          { datasetId: id },
        );
      }
    }
    const artifact = await timed(this.metrics, 'put', () => this.opts.datastore.put(source, entry.ref, ctx));
    this.metrics.bytesWritten += artifact.info.file_size;
    if (!artifact.unchanged || entry.written === null) {
      entry.written = { info: artifact.info, at: isoNow() };
      entry.pruned = false;
      entry.annotation = annotation ?? null;
      this.emit('outputWritten', entry.ref, { size: artifact.info.file_size, sha256: artifact.info.checksum ?? undefined });
    }
    return { ...artifact, ref };
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
    const data = this.opts.datastore.exportPredictedRecords(args.map((a) => this.resolve(a, 'check')));
    return data.size === 0 ? {} : { [this.opts.datastore.name]: data };
  }

  async getURIs(arg: RefArg, predict: boolean): Promise<DatasetURIs> {
    this.assertOpen();
    return this.opts.datastore.getURIs(this.resolve(arg, 'check'), predict);
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

function summary(ref: DatasetRef): Record<string, unknown> {
  return { datasetType: ref.datasetType.name, storageClass: ref.datasetType.storageClass, dataId: ref.dataId, run: ref.run };
}
