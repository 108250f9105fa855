/**
 * Value ⇄ bytes for datastores: what every backend does on put (convert to the
 * dataset type's storage class, validate, serialise) and on read (deserialise, then
 * components, parameters and storage-class override).
 */
import type { DatasetRef } from '../model/dataset-ref.js';
import { splitComponent } from '../model/dataset-type.js';
import { InvalidValue } from '../model/errors.js';
import type { StorageClass, StorageClassRegistry } from '../model/storage-class.js';
import type { LoadedPutSource, ReadRequest, ReadResult } from './datastore.js';
import { formatterByName, formatterFor, type Formatter } from './formatters.js';
import { checkValue, coerceForWrite, readValue } from './storage-class-delegate.js';
import { sha256Hex } from '../util/checksum.js';

export interface Encoded {
  bytes: Buffer;
  storageClass: StorageClass;
  formatter: Formatter;
  /** Nobody else holds `bytes` (encoded here, or handed over by the source): a store may keep them without a copy. */
  owned: boolean;
  /** SHA-256 (hex) of `bytes`. */
  sha256: string;
}

/** The bytes to store for a put. Given bytes are validated and kept exactly as given. */
export function encodeForPut(source: LoadedPutSource, ref: DatasetRef, registry: StorageClassRegistry): Encoded {
  const { storageClass, formatter } = putTarget(ref, registry);
  if (source.kind === 'value') {
    const value = coerceForWrite(source.value, storageClass.name, registry); // checked for the class
    const bytes = formatter.toBytes(value);
    return { bytes, storageClass, formatter, owned: true, sha256: sha256Hex(bytes) };
  }
  const given = { bytes: source.bytes, storageClass, formatter, owned: source.owned === true, sha256: source.sha256 ?? sha256Hex(source.bytes) };
  // Raw bytes need no check (decoding them would only copy megabytes to throw away).
  if (formatter.acceptsAnyBytes) return given;
  let decoded: unknown;
  try {
    decoded = formatter.fromBytes(source.bytes);
  } catch (err) {
    throw new InvalidValue(`The bytes given for ${ref.datasetType.name} are not valid ${formatter.name} data: ${(err as Error).message}`, {
      datasetId: ref.id,
    });
  }
  checkValue(decoded, storageClass);
  return given;
}

/** What a put of `ref` stores: its storage class and formatter (a component cannot be put). */
export function putTarget(ref: DatasetRef, registry: StorageClassRegistry): { storageClass: StorageClass; formatter: Formatter } {
  const { parent, component } = splitComponent(ref.datasetType.name);
  if (component !== undefined) {
    throw new InvalidValue(`Cannot put a component dataset (${ref.datasetType.name}); put the composite ${parent}.`, { datasetId: ref.id });
  }
  const storageClass = registry.get(ref.datasetType.storageClass);
  return { storageClass, formatter: formatterFor(storageClass) };
}

/**
 * Read stored bytes written with `writeStorageClass` (by the formatter a record names, current or
 * legacy name; the class's own formatter when no record says), as the ref and request ask.
 */
export function decodeForRead(
  bytes: Buffer,
  writeStorageClass: string,
  ref: DatasetRef,
  request: ReadRequest,
  registry: StorageClassRegistry,
  formatter?: string,
): ReadResult {
  const writeSc = registry.get(writeStorageClass);
  const stored = (formatter === undefined ? formatterFor(writeSc) : formatterByName(formatter, writeSc)).fromBytes(bytes);
  const { component: refComponent } = splitComponent(ref.datasetType.name);
  return readValue(
    stored,
    writeSc.name,
    {
      component: request.component ?? refComponent,
      parameters: request.parameters,
      // A (non-component) ref carrying another storage class is a read override.
      storageClass:
        request.storageClass ?? (refComponent === undefined && request.component === undefined ? ref.datasetType.storageClass : undefined),
      parentStorageClass: ref.datasetType.parentStorageClass,
    },
    registry,
  );
}
