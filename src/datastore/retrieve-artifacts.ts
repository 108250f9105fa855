/**
 * Retrieving artifacts (daf_butler `retrieveArtifacts`): where each artifact goes in the
 * destination directory, the transfer itself (copy, hard link, symbolic link), and the
 * `_butler_zip_index.json` written beside them. Datastores only list their artifacts: a file
 * on disk (file datastore) or the stored bytes (in-memory datastore, which can only copy).
 *
 * Unlike daf_butler, every target is checked before anything is written, so a refused
 * `overwrite: false` leaves the destination as it was.
 */
import { promises as fs } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { DatasetId } from '../model/dataset-id.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import type { StoredFileInfo } from '../model/datastore-records.js';
import { FileExists, InvalidArgument, IOFailure } from '../model/errors.js';
import type { ArtifactTransfer, OperationContext, RetrievedArtifact, RetrieveOptions } from './datastore.js';
import { writeZipIndex, type IndexUniverse } from './zip-index.js';

export const ARTIFACT_TRANSFERS: readonly ArtifactTransfer[] = ['auto', 'copy', 'link', 'hardlink', 'symlink', 'relsymlink'];

/** One artifact of one dataset, as a datastore lists it. */
export interface ArtifactSource {
  id: DatasetId;
  info: StoredFileInfo;
  /** The file, for datastores that have one; else the bytes are read when written. */
  file?: string;
  bytes?: () => Promise<Buffer>;
}

/**
 * One entry per artifact, under the name `nameOf` gives its first dataset: refs sharing an
 * artifact (the same file, or the same stored path) add their ids to it.
 */
export function groupArtifacts(sources: readonly ArtifactSource[], nameOf: (s: ArtifactSource) => string): Map<string, { source: ArtifactSource; ids: DatasetId[] }> {
  const byName = new Map<string, { source: ArtifactSource; ids: DatasetId[] }>();
  const bySource = new Map<string, string>();
  for (const s of sources) {
    const key = s.file ?? `${s.id}#${s.info.path}#${s.info.component ?? ''}`;
    const known = bySource.get(key);
    if (known !== undefined) {
      const entry = byName.get(known)!;
      if (!entry.ids.includes(s.id)) entry.ids.push(s.id);
      continue;
    }
    const name = nameOf(s);
    bySource.set(key, name);
    byName.set(name, { source: s, ids: [s.id] });
  }
  return byName;
}

/**
 * Where an artifact lands (daf_butler determine_destination_for_retrieved_artifact): its path in
 * the datastore under the destination, or only its file name (with `prefix`). A path that would
 * leave the destination is refused.
 */
export function destinationFor(destination: string, pathInStore: string, preservePath: boolean, prefix = ''): string {
  const rel = preservePath ? (isAbsolute(pathInStore) ? pathInStore.replace(/^\/+/, '') : pathInStore) : prefix + basename(pathInStore);
  const target = resolve(destination, rel);
  const back = relative(destination, target);
  if (back === '' || back.startsWith('..') || isAbsolute(back)) {
    throw new InvalidArgument(`File path attempts to escape destination directory: '${pathInStore}'`, { details: { path: pathInStore } });
  }
  return target;
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function place(source: ArtifactSource, target: string, transfer: ArtifactTransfer): Promise<void> {
  await fs.mkdir(dirname(target), { recursive: true });
  await fs.rm(target, { force: true });
  if (source.file === undefined) {
    // Stored bytes (in-memory datastore): there is no file to link to, so every mode copies.
    await fs.writeFile(target, await source.bytes!());
    return;
  }
  switch (transfer) {
    case 'auto':
    case 'copy':
      await fs.copyFile(source.file, target);
      return;
    case 'hardlink':
      await fs.link(source.file, target);
      return;
    case 'symlink':
      await fs.symlink(source.file, target);
      return;
    case 'relsymlink':
      await fs.symlink(relative(dirname(target), source.file), target);
      return;
    case 'link':
      // lsst.resources: a hard link where the file system allows one, else a symbolic link.
      try {
        await fs.link(source.file, target);
      } catch {
        await fs.symlink(source.file, target);
      }
      return;
  }
}

/**
 * Place the artifacts of `refs` (sources listed by the datastore, in ref order) in the
 * destination and write the index there; returns one entry per file written.
 */
export async function retrieveInto(
  refs: readonly DatasetRef[],
  sources: readonly ArtifactSource[],
  opts: RetrieveOptions,
  universe: IndexUniverse,
  ctx?: OperationContext,
): Promise<RetrievedArtifact[]> {
  if (!isAbsolute(opts.destination)) throw new InvalidArgument(`File paths must be absolute: ${JSON.stringify(opts.destination)}`);
  if ((opts.transfer as string) === 'move') throw new InvalidArgument('Can not move artifacts out of datastore. Use copy instead.');
  if (!ARTIFACT_TRANSFERS.includes(opts.transfer)) {
    throw new InvalidArgument(`Unknown transfer mode '${String(opts.transfer)}'.`, { details: { known: ARTIFACT_TRANSFERS } });
  }
  const destination = resolve(opts.destination);
  try {
    const st = await fs.stat(destination);
    if (!st.isDirectory()) throw new InvalidArgument(`Destination location must refer to a directory. Given ${destination}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const byTarget = new Map<string, { source: ArtifactSource; out: RetrievedArtifact }>();
  const grouped = groupArtifacts(sources, (s) =>
    destinationFor(destination, s.info.path.split('#')[0]!, opts.preservePath, opts.addPrefix && !opts.preservePath ? `${s.id.slice(0, 8)}-` : ''),
  );
  for (const [target, { source, ids }] of grouped) byTarget.set(target, { source, out: { path: target, info: source.info, ids } });
  if (!opts.overwrite) {
    const clashes: string[] = [];
    for (const target of byTarget.keys()) if (await exists(target)) clashes.push(target);
    if (clashes.length > 0) {
      throw new FileExists('Some files already exist in destination directory and overwrite is False', { details: { paths: clashes.sort() } });
    }
  }
  await fs.mkdir(destination, { recursive: true });
  const entries = [...byTarget.values()];
  for (let i = 0; i < entries.length; i++) {
    ctx?.checkCancelled?.();
    const { source, out } = entries[i]!;
    try {
      await place(source, out.path, opts.transfer);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === undefined) throw err;
      throw new IOFailure(`Cannot ${opts.transfer} ${source.file ?? source.info.path} to ${out.path}: ${e.message}`, { details: { code: e.code } });
    }
    ctx?.progress?.((i + 1) / entries.length, out.path);
  }
  const artifacts = entries.map((e) => e.out);
  await writeZipIndex(destination, refs, artifacts.map((a) => ({ ...a, path: relative(destination, a.path).split(sep).join('/') })), universe);
  return artifacts;
}
