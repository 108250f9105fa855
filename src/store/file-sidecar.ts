/**
 * The file store's sidecars: the metadata file of a key, and which data file it belongs to.
 *
 * A value is two files, the data and its sidecar, replaced by two renames. So a sidecar
 * records the data file it was written for (its inode, which a rename keeps) and carries
 * the sidecar it replaced. A reader takes the one that names the data file it read: between
 * a writer's two renames, or after a crash there, that is the previous sidecar, so the old
 * value is read whole, never new metadata over old data.
 */
import { IOFailure } from '../model/errors.js';
import type { Metadata } from './store.js';

export interface Sidecar {
  metadata: Metadata;
  created: number;
  modified: number;
}

/** A sidecar as stored: for the data file `ino`, with the sidecar it replaced. */
export interface SidecarFile extends Sidecar {
  ino?: string;
  previous?: Sidecar & { ino?: string };
}

/** What a data file is: its identity, and the times a key without a sidecar reports. */
export interface DataFile {
  ino: string;
  size: number;
  mtimeMs: number;
  birthtimeMs: number;
}

export function dataFileOf(st: { ino: bigint; size: bigint; mtimeMs: bigint; birthtimeMs: bigint }): DataFile {
  return { ino: String(st.ino), size: Number(st.size), mtimeMs: Number(st.mtimeMs), birthtimeMs: Number(st.birthtimeMs) };
}

export function parseSidecar(text: Buffer, key: string): SidecarFile {
  try {
    const parsed = JSON.parse(text.toString('utf8')) as SidecarFile;
    if (parsed && typeof parsed === 'object' && parsed.metadata && typeof parsed.metadata === 'object') return parsed;
  } catch {
    // fall through: reported below
  }
  throw new IOFailure(`corrupt metadata file for key ${JSON.stringify(key)}`, { details: { key } });
}

/** The sidecar of the data file `ino` in `stored` (itself or its previous one), if either names it. */
export function sidecarOf(stored: SidecarFile, ino: string): Sidecar | undefined {
  // No inode recorded (written by hand or by an older version), or none to compare: trust it.
  if (stored.ino === undefined || stored.ino === ino || ino === '0') return pick(stored);
  if (stored.previous && stored.previous.ino === ino) return pick(stored.previous);
  return undefined;
}

/**
 * The sidecar that describes `file`; `matched` false when there is one but it names other
 * data (then metadata {} and the file's times, as for a key without a sidecar).
 */
export function resolveSidecar(stored: SidecarFile | undefined, file: DataFile): { sidecar: Sidecar; matched: boolean } {
  const own = stored && sidecarOf(stored, file.ino);
  if (own) return { sidecar: own, matched: true };
  const modified = file.mtimeMs / 1000;
  const created = file.birthtimeMs > 0 ? Math.min(file.birthtimeMs / 1000, modified) : modified;
  return { sidecar: { metadata: {}, created, modified }, matched: stored === undefined };
}

/** The text of a sidecar for the data file `ino`, replacing `previous` (whose data file was `previousIno`). */
export function sidecarText(sidecar: Sidecar, ino: string, previous?: { sidecar: Sidecar; ino: string }): Buffer {
  const file: SidecarFile = { ...pick(sidecar), ino };
  if (previous) file.previous = { ...pick(previous.sidecar), ino: previous.ino };
  return Buffer.from(JSON.stringify(file));
}

function pick(s: Sidecar): Sidecar {
  return { metadata: s.metadata, created: s.created, modified: s.modified };
}
