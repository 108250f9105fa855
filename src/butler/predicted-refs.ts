/**
 * A quantum's predicted refs, keyed by dataset id and, within an id, by dataset type name
 * (component types included), and the two views of a ref the butler needs:
 *
 * - what the caller asked for (`resolve`): a full ref is checked against the predicted ref of
 *   the same dataset type name (a component ref `pvi.wcs` against a predicted `pvi.wcs`, else
 *   against the composite `pvi`); `{id, component?}` picks the predicted component ref, or the
 *   component of the composite. pipe_base's execution quanta list component refs with their
 *   parent's id, so one id may carry a composite and any of its components, in any order.
 * - what the datastore holds (`storageView`): the composite in the registry's storage class
 *   (daf_butler's `_cast_storage_class`), with the caller's component and storage class as a
 *   read request. Writes go to the registry's class, reads convert from what is stored.
 */
import type { DatasetId } from '../model/dataset-id.js';
import { makeCompositeRef, refFieldsMismatch, withStorageClass, type DatasetRef } from '../model/dataset-ref.js';
import { makeComponentDatasetType, splitComponent, type DatasetType } from '../model/dataset-type.js';
import { DatasetNotFound, InvalidArgument, PredictedRefMismatch } from '../model/errors.js';
import type { StorageClassRegistry } from '../model/storage-class.js';
import type { ReadRequest } from '../datastore/datastore.js';

/** What a ref argument can be: a full ref, or an id resolved from the predictions. */
export type RefArg = { ref: DatasetRef } | { id: DatasetId; component?: string; storageClass?: string };

export type Purpose = 'read' | 'write' | 'check';

/** The values of a ref's required dimensions (its type's), as `name=value,...`. */
const requiredKey = (r: DatasetRef): string => r.datasetType.dimensions.map((d) => `${d}=${String(r.dataId[d])}`).join(',');

export class PredictedRefs {
  /** id → dataset type name → the ref as predicted. */
  private readonly byId = new Map<DatasetId, Map<string, DatasetRef>>();
  /** id → the composite ref (predicted, or derived from a predicted component ref). */
  private readonly composites = new Map<DatasetId, DatasetRef>();
  /** Input ids (init-inputs first), each with whether it is an init-input. */
  readonly inputIds = new Map<DatasetId, boolean>();
  readonly outputIds = new Set<DatasetId>();

  constructor(
    inputs: { initInputs: readonly DatasetRef[]; inputs: readonly DatasetRef[]; outputs: readonly DatasetRef[] },
    private readonly datasetTypes: ReadonlyMap<string, DatasetType>,
    private readonly storageClasses: StorageClassRegistry,
  ) {
    for (const ref of inputs.initInputs) this.add(ref, () => this.inputIds.set(ref.id, this.inputIds.get(ref.id) ?? true));
    for (const ref of inputs.inputs) this.add(ref, () => this.inputIds.set(ref.id, this.inputIds.get(ref.id) ?? false));
    for (const ref of inputs.outputs) {
      if (this.inputIds.has(ref.id)) {
        throw new InvalidArgument(`Dataset ${ref.id} is predicted both as an input and as an output.`, { datasetId: ref.id });
      }
      this.add(ref, () => this.outputIds.add(ref.id));
    }
  }

  private add(ref: DatasetRef, mark: () => void): void {
    mark();
    let types = this.byId.get(ref.id);
    if (!types) this.byId.set(ref.id, (types = new Map()));
    // One id is one dataset: its refs (a composite and its components, or one ref twice) share a
    // run and the values of their type's required dimensions (implied ones may be given or not).
    // Two that do not are two datasets under one id, a broken quantum.
    const first: DatasetRef | undefined = types.values().next().value;
    if (first && (first.run !== ref.run || requiredKey(first) !== requiredKey(ref))) {
      const what = (r: DatasetRef) => `${r.datasetType.name}@{${requiredKey(r)}} in ${r.run}`;
      throw new InvalidArgument(`Dataset ${ref.id} is predicted as two different datasets: ${what(first)} and ${what(ref)}.`, { datasetId: ref.id });
    }
    if (!types.has(ref.datasetType.name)) types.set(ref.datasetType.name, ref);
    const known = this.composites.get(ref.id);
    if (splitComponent(ref.datasetType.name).component === undefined) {
      // A predicted composite is authoritative: it replaces one derived from a component ref.
      if (known === undefined || !this.predictsComposite(ref.id, known)) this.composites.set(ref.id, ref);
    } else if (known === undefined) {
      this.composites.set(ref.id, this.compositeOf(ref));
    }
  }

  private predictsComposite(id: DatasetId, composite: DatasetRef): boolean {
    return this.byId.get(id)?.get(composite.datasetType.name) === composite;
  }

  /** The composite of a (component) ref: the registry's parent type if known, else from its parentStorageClass. */
  private compositeOf(ref: DatasetRef): DatasetRef {
    const { parent, component } = splitComponent(ref.datasetType.name);
    if (component === undefined) return ref;
    const registered = this.datasetTypes.get(parent);
    if (registered) return Object.freeze({ ...ref, datasetType: registered });
    if (ref.datasetType.parentStorageClass === undefined) {
      throw new InvalidArgument(`Component dataset type '${ref.datasetType.name}' constructed without parent storage class`, { datasetId: ref.id });
    }
    return makeCompositeRef(ref);
  }

  /** The composite ref with this id (input or output), as predicted or derived from a component ref. */
  composite(id: DatasetId): DatasetRef | undefined {
    return this.composites.get(id);
  }

  /** The predicted refs of this id by dataset type name (composite and components as listed). */
  refsOf(id: DatasetId): ReadonlyMap<string, DatasetRef> | undefined {
    return this.byId.get(id);
  }

  /**
   * The ref to read (or check, or write) for a ref argument. A predicted id's ref must agree
   * with its prediction (PredictedRefMismatch); a different, convertible storage class is a
   * read override. Refs whose id is not predicted are taken as given (reads are untracked).
   */
  resolve(arg: RefArg, purpose: Purpose): DatasetRef {
    let base: DatasetRef;
    let component: string | undefined;
    let storageClass: string | undefined;
    if ('ref' in arg) {
      const given = arg.ref;
      const split = splitComponent(given.datasetType.name);
      const types = this.byId.get(given.id);
      const composite = this.composites.get(given.id);
      if (types && composite) {
        const exact = types.get(given.datasetType.name);
        if (exact && split.component !== undefined) {
          // A predicted component ref, asked for by its own type.
          this.check(exact, given, purpose);
          if (purpose === 'write') this.refuseComponentWrite(exact);
          return given.datasetType.storageClass !== exact.datasetType.storageClass ? withStorageClass(exact, given.datasetType.storageClass) : exact;
        }
        component = split.component;
        const parentGiven =
          component === undefined
            ? given
            : {
                ...given,
                datasetType: {
                  ...given.datasetType,
                  name: split.parent,
                  storageClass: given.datasetType.parentStorageClass ?? composite.datasetType.storageClass,
                  parentStorageClass: undefined,
                },
              };
        this.check(composite, parentGiven, purpose);
        base = composite;
        if (component === undefined && given.datasetType.storageClass !== composite.datasetType.storageClass) {
          storageClass = given.datasetType.storageClass;
        }
      } else {
        base = split.component === undefined ? given : this.compositeOf(given);
        component = split.component;
      }
    } else {
      const types = this.byId.get(arg.id);
      const composite = this.composites.get(arg.id);
      if (!types || !composite) {
        throw new DatasetNotFound(`Dataset ${arg.id} is not among this quantum's predicted inputs or outputs, and only its id was given.`, {
          datasetId: arg.id,
          details: { predicted: false },
        });
      }
      if (arg.component !== undefined) {
        const exact = types.get(`${composite.datasetType.name}.${arg.component}`);
        if (exact) {
          if (purpose === 'write') this.refuseComponentWrite(exact);
          return arg.storageClass !== undefined ? withStorageClass(exact, arg.storageClass) : exact;
        }
        base = composite;
        component = arg.component;
      } else {
        // The composite when it is predicted; a single predicted component ref stands for itself.
        const only = types.size === 1 ? [...types.values()][0]! : undefined;
        base = types.has(composite.datasetType.name) || only === undefined ? composite : only;
      }
      storageClass = arg.storageClass;
    }
    let ref = base;
    if (storageClass !== undefined && purpose !== 'write') ref = withStorageClass(ref, storageClass);
    if (component !== undefined) {
      if (purpose === 'write') this.refuseComponentWrite({ ...ref, datasetType: { ...ref.datasetType, name: `${ref.datasetType.name}.${component}` } });
      ref = Object.freeze({ ...ref, datasetType: makeComponentDatasetType(ref.datasetType, component, this.storageClasses) });
    }
    return ref;
  }

  private refuseComponentWrite(ref: DatasetRef): never {
    throw new InvalidArgument(`Cannot put a component (${ref.datasetType.name}); put the composite.`, { datasetId: ref.id });
  }

  private check(predicted: DatasetRef, given: DatasetRef, purpose: Purpose): void {
    const mismatch = refFieldsMismatch(predicted, given, this.storageClasses);
    if (mismatch.length === 0) return;
    const what = purpose === 'write' ? 'predicted output' : 'predicted ref';
    throw new PredictedRefMismatch(`The ref given for ${given.id} does not match the ${what}: ${mismatch.join(', ')} differ.`, {
      datasetId: given.id,
      details: { fields: mismatch, predicted: summary(predicted), given: summary(given) },
    });
  }

  /** The registry's definition of a dataset type (by parent name), if the session knows it. */
  registryType(name: string): DatasetType | undefined {
    return this.datasetTypes.get(splitComponent(name).parent);
  }

  /** The composite of `ref` in the registry's storage class: how the datastore stores it. */
  registryRef(ref: DatasetRef): DatasetRef {
    const composite = this.compositeOf(ref);
    const registered = this.datasetTypes.get(composite.datasetType.name);
    if (!registered || registered.storageClass === composite.datasetType.storageClass) return composite;
    return Object.freeze({ ...composite, datasetType: registered });
  }

  /**
   * The datastore's view of a read: the registry composite, and a request carrying the
   * component and the storage class the caller wants (when it is not what is stored).
   */
  storageView(ref: DatasetRef, request: ReadRequest): { ref: DatasetRef; request: ReadRequest } {
    const stored = this.registryRef(ref);
    const refComponent = splitComponent(ref.datasetType.name).component;
    const component = request.component ?? refComponent;
    let storageClass = request.storageClass;
    if (storageClass === undefined && request.component === undefined) {
      const natural = refComponent === undefined ? stored.datasetType.storageClass : this.storageClasses.allComponents(stored.datasetType.storageClass)[refComponent];
      if (natural !== undefined && natural !== ref.datasetType.storageClass) storageClass = ref.datasetType.storageClass;
    }
    const out: ReadRequest = { ...request };
    if (component !== undefined) out.component = component;
    if (storageClass !== undefined) out.storageClass = storageClass;
    return { ref: stored, request: out };
  }
}

export function summary(ref: DatasetRef): Record<string, unknown> {
  return { datasetType: ref.datasetType.name, storageClass: ref.datasetType.storageClass, dataId: ref.dataId, run: ref.run };
}
