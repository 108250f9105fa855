/**
 * daf_butler's ZipIndex (`_butler_zip_index.json`, index_version V1): the refs of the retrieved
 * datasets (a SerializedDatasetRefContainerV1: dataset types by name, compact refs by id) and,
 * per artifact path relative to the index, its SerializedStoredFileInfo and dataset ids. It is
 * written beside retrieved artifacts and as the first member of a Zip of them
 * (retrieve_artifacts_zip), whose name is uuid5 of the sorted member paths, so a daf_butler
 * butler can ingest the Zip as it would one of its own.
 */
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { DATASET_ID_NAMESPACE, type DatasetId } from '../model/dataset-id.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import type { StoredFileInfo } from '../model/datastore-records.js';
import { FileExists, InvalidArgument } from '../model/errors.js';
import { groupArtifacts, type ArtifactSource } from './retrieve-artifacts.js';

export const ZIP_INDEX_NAME = '_butler_zip_index.json';

/** The dimension universe an index names: the one its refs belong to. */
export interface IndexUniverse {
  readonly namespace: string;
  readonly version: number;
}

/** daf_butler SerializedStoredFileInfo: the record's fields, component null when none. */
type SerializedStoredFileInfo = StoredFileInfo;

export interface ZipIndexJson {
  index_version: 'V1';
  refs: {
    container_version: 'V1';
    universe_version: number;
    universe_namespace: string;
    dataset_types: Record<string, { name: string; storageClass: string; dimensions: string[]; parentStorageClass: string | null; isCalibration: boolean }>;
    compact_refs: Record<string, { dataset_type_name: string; run: string; data_id: Record<string, string | number> }>;
    dimension_records: null;
  };
  artifact_map: Record<string, { info: SerializedStoredFileInfo; ids: string[] }>;
}

/** An artifact for the index: its path relative to the index's directory. */
export interface IndexedArtifact {
  path: string;
  info: StoredFileInfo;
  ids: readonly DatasetId[];
}

/** daf_butler StoredFileInfo.to_simple(): the record with a null component (not the sentinel). */
function simpleInfo(info: StoredFileInfo): SerializedStoredFileInfo {
  return { formatter: info.formatter, path: info.path, storage_class: info.storage_class, component: info.component, checksum: info.checksum, file_size: info.file_size };
}

export function makeZipIndex(refs: readonly DatasetRef[], artifacts: readonly IndexedArtifact[], universe: IndexUniverse): ZipIndexJson {
  const datasetTypes: ZipIndexJson['refs']['dataset_types'] = {};
  const compact: ZipIndexJson['refs']['compact_refs'] = {};
  for (const ref of refs) {
    const dt = ref.datasetType;
    datasetTypes[dt.name] ??= {
      name: dt.name,
      storageClass: dt.storageClass,
      dimensions: [...dt.dimensions],
      parentStorageClass: dt.parentStorageClass ?? null,
      isCalibration: dt.isCalibration,
    };
    compact[ref.id] = { dataset_type_name: dt.name, run: ref.run, data_id: { ...ref.dataId } };
  }
  const artifactMap: ZipIndexJson['artifact_map'] = {};
  for (const a of artifacts) artifactMap[a.path] = { info: simpleInfo(a.info), ids: [...a.ids] };
  return {
    index_version: 'V1',
    refs: {
      container_version: 'V1',
      universe_version: refs.length > 0 ? universe.version : 0,
      universe_namespace: refs.length > 0 ? universe.namespace : 'unknown',
      dataset_types: datasetTypes,
      compact_refs: compact,
      dimension_records: null,
    },
    artifact_map: artifactMap,
  };
}

/** The index as daf_butler writes it: compact JSON and a newline. */
function indexText(index: ZipIndexJson): string {
  return JSON.stringify(index) + '\n';
}

export async function writeZipIndex(dir: string, refs: readonly DatasetRef[], artifacts: readonly IndexedArtifact[], universe: IndexUniverse): Promise<string> {
  const path = join(dir, ZIP_INDEX_NAME);
  await fs.writeFile(path, indexText(makeZipIndex(refs, artifacts, universe)));
  return path;
}

/** daf_butler ZipIndex.calculate_zip_file_name: uuid5 over the sorted member paths, joined by ','. */
export function zipFileName(index: ZipIndexJson): string {
  return `${uuidv5(Object.keys(index.artifact_map).sort().join(','), DATASET_ID_NAMESPACE)}.zip`;
}

/**
 * Write the Zip of these artifacts into `destination` (daf_butler retrieve_and_zip): member
 * names are `<first 8 id characters>-<file name>`, the index comes first (deflated), the
 * artifacts follow stored as they are. Streams every file; the Zip appears atomically.
 * Returns its path. FileExists when it exists and `overwrite` is false.
 */
export async function writeArtifactZip(
  destination: string,
  refs: readonly DatasetRef[],
  sources: readonly ArtifactSource[],
  overwrite: boolean,
  universe: IndexUniverse,
): Promise<string> {
  if (refs.length === 0) throw new InvalidArgument('Requested Zip file with no contents.');
  // daf_butler stages with preserve_path=False and add_prefix=True: `<id8>-<file name>`.
  const members = groupArtifacts(sources, (s) => `${s.id.slice(0, 8)}-${s.info.path.split('#')[0]!.split('/').pop()!}`);
  const index = makeZipIndex(
    refs,
    [...members].map(([path, m]) => ({ path, info: m.source.info, ids: m.ids })),
    universe,
  );
  await fs.mkdir(destination, { recursive: true });
  const zipPath = join(destination, zipFileName(index));
  if (!overwrite) {
    const present = await fs.lstat(zipPath).then(
      () => true,
      () => false,
    );
    if (present) throw new FileExists(`Output Zip at ${zipPath} already exists but cannot overwrite.`, { details: { path: zipPath } });
  }
  const tmp = join(destination, `.${randomUUID()}.zip.tmp`);
  const out = createWriteStream(tmp);
  let failure: Error | undefined;
  const finished = new Promise<void>((resolvePromise, reject) => {
    out.on('error', reject);
    out.on('finish', resolvePromise);
  });
  const zip = new Zip((err, chunk, final) => {
    if (err) {
      failure = err;
      out.destroy(err);
      return;
    }
    out.write(chunk);
    if (final) out.end();
  });
  const drain = async (): Promise<void> => {
    if (out.writableNeedDrain) await once(out, 'drain');
    if (failure) throw failure;
  };
  try {
    const head = new ZipDeflate(ZIP_INDEX_NAME, { level: 6 });
    zip.add(head);
    head.push(Buffer.from(indexText(index)), true);
    for (const [name, m] of members) {
      const entry = new ZipPassThrough(name);
      zip.add(entry);
      if (m.source.file !== undefined) {
        for await (const chunk of createReadStream(m.source.file)) {
          entry.push(chunk as Buffer);
          await drain();
        }
        entry.push(new Uint8Array(0), true);
      } else {
        entry.push(await m.source.bytes!(), true);
      }
      await drain();
    }
    zip.end();
    await finished;
    await fs.rename(tmp, zipPath);
  } catch (err) {
    out.destroy();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  return zipPath;
}
