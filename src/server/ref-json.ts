/**
 * A dataset ref's wire JSON (wireRef), made once per ref for the answers that read the same
 * dataset again and again (a get of an input): refs are frozen, so the text cannot go stale,
 * and it is held only as long as the ref is.
 */
import { wireRef } from '../butler/provenance.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import type { DatasetType } from '../model/dataset-type.js';
import type { DataId } from '../model/data-coordinate.js';
import { asciiQuoted, isAsciiAsIs, jsonString } from '../model/json-value.js';
import { ownedBytes } from '../util/owned-bytes.js';

const heads = new WeakMap<DatasetRef, Buffer>();

/**
 * `{"ref":<JSON.stringify(wireRef(ref))>,"storageClass":<its class>,"payload":{"encoding":"json","value":`
 * in UTF-8, made once per ref: the head of a plain JSON read's answer, in the ref's own storage
 * class. Kept as bytes, so an answer copies it instead of building, measuring and encoding
 * the text again.
 */
export function jsonReadHead(ref: DatasetRef): Buffer {
  let head = heads.get(ref);
  if (head === undefined) {
    // Kept as long as the ref (a session's): its own memory, not a slice of Node's shared pool.
    head = ownedBytes(Buffer.from(
      `{"ref":${JSON.stringify(wireRef(ref))},"storageClass":${JSON.stringify(ref.datasetType.storageClass)},"payload":{"encoding":"json","value":`,
      'utf8',
    ));
    heads.set(ref, head);
  }
  return head;
}

/** The text typeJson last made for a dataset type name, with what it was made from. */
interface TypeText {
  storageClass: string;
  dimensions: readonly string[];
  text: string;
  /** The text is all ASCII. */
  ascii: boolean;
}

/**
 * Kept per name, not per type object: refs given with their dataset type in full (as daf_butler
 * serialises them, and the bench does) are parsed into a type object each, equal to the others
 * of their name, so a cache per object never hit and a put paid three JSON.stringify and a
 * WeakMap entry (5% of the sidecar's samples at 64 puts in flight). At most MAX_TYPE_TEXTS names.
 */
const typeTexts = new Map<string, TypeText>();
const MAX_TYPE_TEXTS = 1024;

const sameNames = (a: readonly string[], b: readonly string[]): boolean => a === b || (a.length === b.length && a.every((d, i) => d === b[i]));

/** `"datasetType":…,"storageClass":…,"dimensions":[…]` of a dataset type, made once per name while the type of that name stays the same. */
function typeJson(dt: DatasetType): TypeText {
  const known = typeTexts.get(dt.name);
  if (known !== undefined && known.storageClass === dt.storageClass && sameNames(known.dimensions, dt.dimensions)) return known;
  const text = `"datasetType":${jsonString(dt.name)},"storageClass":${jsonString(dt.storageClass)},"dimensions":${JSON.stringify(dt.dimensions)}`;
  if (typeTexts.size >= MAX_TYPE_TEXTS && known === undefined) typeTexts.clear();
  const made = { storageClass: dt.storageClass, dimensions: dt.dimensions, text, ascii: Buffer.byteLength(text, 'utf8') === text.length };
  typeTexts.set(dt.name, made);
  return made;
}

/**
 * JSON.stringify(wireRef(ref)), not kept (a put's ref is answered once), written around its
 * dataset type's text, which the outputs of a type share (no wire object, no copies of the
 * dimensions and data ID: 1.3 -> 0.76 us for a bench output, load 4.8).
 */
export function refJson(ref: DatasetRef): string {
  return `{"id":${jsonString(ref.id)},${typeJson(ref.datasetType).text},"dataId":${dataIdJson(ref.dataId)},"run":${jsonString(ref.run)}}`;
}

/** refJson(ref) when it is all ASCII, known from its pieces without reading it whole; else undefined. */
export function asciiRefJson(ref: DatasetRef): string | undefined {
  const type = typeJson(ref.datasetType);
  const id = asciiQuoted(ref.id);
  const run = asciiQuoted(ref.run);
  const dataId = asciiDataIdJson(ref.dataId);
  if (!type.ascii || id === undefined || run === undefined || dataId === undefined) return undefined;
  return `{"id":${id},${type.text},"dataId":${dataId},"run":${run}}`;
}

/** JSON.stringify(dataId): its members in their order, strings by jsonString, numbers as String writes them (JSON's text for a finite number). */
function dataIdJson(dataId: DataId): string {
  const keys = Object.keys(dataId);
  const members = new Array<string>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const v: unknown = dataId[keys[i]!];
    members[i] = `${jsonString(keys[i]!)}:${typeof v === 'string' ? jsonString(v) : typeof v === 'number' && Number.isFinite(v) ? String(v) : JSON.stringify(v)}`;
  }
  return `{${members.join(',')}}`;
}

/**
 * dataIdJson(dataId) when its keys and string values are printable ASCII needing no escape and its
 * numbers finite; else undefined. Each member is added as one chain of its pieces, without
 * quoted copies of its key and value first (a put's data ID made ~15 string concatenations).
 */
function asciiDataIdJson(dataId: DataId): string | undefined {
  const keys = Object.keys(dataId);
  let text = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const v: unknown = dataId[key];
    if (!isAsciiAsIs(key)) return undefined;
    const open = i === 0 ? '"' : ',"';
    // A number joined to a string is written as String writes it (JSON's text for a finite number).
    if (typeof v === 'string' && isAsciiAsIs(v)) text += open + key + '":"' + v + '"';
    else if (typeof v === 'number' && Number.isFinite(v)) text += open + key + '":' + v;
    else return undefined;
  }
  return text + '}';
}
