/** butler/*: thin handlers over the session's QuantumBackedButler. */
import {
  ExtractProvenance,
  ExportPredictedRecords,
  Get,
  GetResultSchema,
  GetDatastoreRoots,
  GetDeferred,
  GetManyURIs,
  GetURIs,
  LoadDeferred,
  MarkInputUnused,
  Metrics,
  Put,
  PruneDatasets,
  RetrieveArtifacts,
  RetrieveArtifactsZip,
  Stored,
  StoredMany,
} from '../../../protocol/butler.js';
import type * as z from 'zod';
import type { DatasetRefInput, PayloadEncoding } from '../../../protocol/common.js';
import type { QuantumBackedButler, RefArg } from '../../butler/quantum-backed-butler.js';
import { wireRef } from '../../butler/provenance.js';
import { isMinimalRef, parseDatasetRef } from '../../model/dataset-ref.js';
import { normalizeDatasetId } from '../../model/dataset-id.js';
import { InvalidArgument } from '../../model/errors.js';
import { serializeDatastoreRecordData } from '../../model/datastore-records.js';
import type { ReadRequest } from '../../datastore/datastore.js';
import type { DatasetRef } from '../../model/dataset-ref.js';
import type { StorageClassKind } from '../../model/storage-class.js';
import { isAbsolute } from 'node:path';
import { decodeForRead } from '../../datastore/codec.js';
import { decodePutPayload, encodeBytes, encodeReadValue, tooLarge } from '../payload.js';
import type { RequestContext } from '../context.js';
import { JsonText, RawJson, spliced } from '../spliced-json.js';
import { asciiRefJson, jsonReadHead, refJson } from '../ref-json.js';
import { usualPutParams } from '../put-params.js';
import type { Server } from '../server.js';
import { asciiQuoted, jsonString } from '../../model/json-value.js';
import { isLastSha256Hex } from '../../util/checksum.js';

/** A ref from the wire: an id the butler resolves, or a full ref. */
export function refArg(input: DatasetRefInput, butler: QuantumBackedButler): RefArg {
  if (isMinimalRef(input)) {
    const arg: RefArg = { id: normalizeDatasetId(input.id) };
    if (input.component) arg.component = input.component;
    if (input.storageClass) arg.storageClass = input.storageClass;
    return arg;
  }
  return { ref: parseDatasetRef(input, butler.datasetTypes, butler.storageClasses, undefined, butler.dimensions) };
}

/** The kind of the dataset's storage class where it is read as stored (so stored bytes = the value), else undefined. */
function storedKind(butler: QuantumBackedButler, arg: RefArg): StorageClassKind | undefined {
  const ref = 'ref' in arg ? butler.predictedRef(arg.ref.id) ?? arg.ref : butler.predictedRef(arg.id);
  if (!ref) return undefined;
  const storageClass = butler.storedClassIfAsStored(arg);
  return storageClass === undefined ? undefined : butler.storageClasses.get(storageClass).kind;
}

/** Is a dataset of this kind stored as JSON (so stored bytes = the value)? */
function jsonFormatted(kind: StorageClassKind | undefined): boolean {
  return kind === 'dict' || kind === 'list' || kind === 'json' || kind === 'table';
}

/** Bytes written in another class than the ref's: converted and encoded as a normal read would. */
async function convertedRead(butler: QuantumBackedButler, read: { bytes: Buffer; ref: DatasetRef; storageClass: string; formatter: string }, p: ReadParams, max: number) {
  const value = decodeForRead(read.bytes, read.storageClass, read.ref, {}, butler.storageClasses, read.formatter);
  const { payload, size } = await encodeReadValue(value.value, value.storageClass, butler.storageClasses, p.as, p.destination, max);
  return { ref: wireRef(read.ref), storageClass: value.storageClass, payload, size };
}

type GetResult = z.input<typeof GetResultSchema>;

/** butler/stored's two answers, written as they are. */
const STORED_TRUE = new JsonText(['{"stored":true}']);
const STORED_FALSE = new JsonText(['{"stored":false}']);

interface ReadParams {
  parameters?: Record<string, unknown>;
  storageClass?: string;
  component?: string;
  as?: PayloadEncoding;
  destination?: string;
}

/** Read through the butler and encode the result as the caller asked. */
async function readAndEncode(
  server: Server,
  butler: QuantumBackedButler,
  arg: RefArg,
  request: ReadRequest,
  p: ReadParams,
  ctx: RequestContext,
) {
  const max = server.options.maxInlineBytes;
  if (p.as === 'file' && !p.destination) throw new InvalidArgument('as="file" needs a destination path.');
  // Refuse a bad destination before reading, so a failed call records no use of the input.
  if (p.destination !== undefined && !isAbsolute(p.destination)) {
    throw new InvalidArgument(`File paths must be absolute: ${JSON.stringify(p.destination)}`);
  }
  const plain = !request.parameters && !request.component && !request.storageClass && !('component' in arg && arg.component) && !('storageClass' in arg && arg.storageClass);
  ctx.work.begin(ctx.method === 'butler/loadDeferred' ? 'Loading deferred dataset' : 'Reading dataset');
  try {
    // Worked out where first needed, then kept: it resolves the ref (both uses are before the read).
    // A variable, not a closure: the bundle (esbuild's keepNames) names a closure made per call
    // with an Object.defineProperty, ~3,900 instructions a get (callgrind).
    let kind: StorageClassKind | undefined | null = null;
    // Bytes read without an encoding asked for go base64: the stored bytes, as below.
    let as = p.as;
    if (as === undefined && plain && (kind = storedKind(butler, arg)) === 'bytes') as = 'base64';
    if (plain && (as === 'base64' || as === 'file') && butler.readsAsStored(arg)) {
      // The stored bytes as they are: no decode/encode round trip.
      if (p.as === 'file') {
        // Copied by the datastore into place (checked against its record on the way).
        const read = await butler.getToFile(arg, p.destination!, ctx);
        ctx.progress(0.5, 'read');
        return { ref: wireRef(read.ref), storageClass: read.storageClass, payload: { encoding: 'file' as const, path: p.destination! }, size: read.size };
      }
      const read = await butler.getBytes(arg, ctx);
      const { bytes, ref, storageClass } = read;
      ctx.progress(0.5, 'read');
      // Written in another class, the default encoding is that of the class read: convert as a normal read would.
      if (p.as === undefined && storageClass !== ref.datasetType.storageClass) return await convertedRead(butler, read, p, max);
      return { ref: wireRef(ref), storageClass, payload: encodeBytes(bytes, max).payload, size: bytes.length };
    }
    if (plain && p.as !== 'text' && jsonFormatted(kind === null ? storedKind(butler, arg) : kind)) {
      // A plain JSON read: the stored bytes are the value's JSON (checked when written),
      // so they are sent as they are and their size is the value's.
      const read = await butler.getBytes(arg, ctx);
      const { bytes, ref, storageClass } = read;
      // Written in another class (a shared datastore, an older record): convert as a normal read would.
      if (storageClass !== ref.datasetType.storageClass) return await convertedRead(butler, read, p, max);
      if (bytes.length > max) throw tooLarge(bytes.length, max, 'The value');
      // Spliced into the answer as they are (one copy), once checked to be JSON; the rest of
      // the answer (its head made once per ref) as JSON.stringify would write it.
      const raw = RawJson.of(bytes);
      if (raw) return spliced<GetResult>(new JsonText([jsonReadHead(ref), raw, `},"size":${bytes.length}}`]));
      const value = JSON.parse(bytes.toString('utf8')) as unknown;
      return { ref: wireRef(ref), storageClass, payload: { encoding: 'json' as const, value }, size: bytes.length };
    }
    const { value, storageClass, ref } = await butler.get(arg, request, ctx);
    ctx.progress(0.5, 'read');
    const { payload, size } = await encodeReadValue(value, storageClass, butler.storageClasses, p.as, p.destination, max);
    return { ref: wireRef(ref), storageClass, payload, size };
  } finally {
    ctx.work.end();
  }
}

/**
 * butler/put's answer, as JSON.stringify would write {ref, size, sha256, uri, alreadyStored}: its
 * pieces checked to be ASCII as they are made, so that the writer need not read it again (JsonText.ascii).
 */
function putAnswer(result: Awaited<ReturnType<QuantumBackedButler['put']>>): JsonText {
  const ref = asciiRefJson(result.ref);
  const sha256 = isLastSha256Hex(result.sha256) ? `"${result.sha256}"` : asciiQuoted(result.sha256);
  const uri = asciiQuoted(result.uri);
  const size = result.info.file_size;
  const text = `{"ref":${ref ?? refJson(result.ref)},"size":${size},"sha256":${sha256 ?? jsonString(result.sha256)},"uri":${uri ?? jsonString(result.uri)},"alreadyStored":${result.unchanged}}`;
  const ascii = ref !== undefined && sha256 !== undefined && uri !== undefined && Number.isFinite(size);
  return ascii ? JsonText.ascii(text) : new JsonText([text]);
}

export function registerButler(server: Server): void {
  server.handleSession(Get, (p, ctx, s) =>
    readAndEncode(server, s.butler, refArg(p.ref, s.butler), { parameters: p.parameters, storageClass: p.storageClass, component: p.component }, p, ctx),
  );

  server.handleSession(GetDeferred, (p, _ctx, s) => {
    const { handle, ref } = s.butler.getDeferred(refArg(p.ref, s.butler), p.parameters, p.storageClass);
    return { handle, ref: wireRef(ref) };
  });

  server.handleSession(LoadDeferred, (p, ctx, s) => {
    const { arg, request } = s.butler.deferred(p.handle, { parameters: p.parameters, storageClass: p.storageClass, component: p.component });
    return readAndEncode(server, s.butler, arg, request, p, ctx);
  });

  server.handleSession(Stored, async (p, _ctx, s) =>
    spliced<{ stored: boolean }>((await s.butler.stored(refArg(p.ref, s.butler))) ? STORED_TRUE : STORED_FALSE),
  );

  server.handleSession(StoredMany, async (p, _ctx, s) => {
    const found = await s.butler.storedMany(p.refs.map((r) => refArg(r, s.butler)));
    return { stored: Object.fromEntries(found) };
  });

  server.handleSession(MarkInputUnused, (p, _ctx, s) => ({
    state: s.butler.markInputUnused(refArg(p.ref, s.butler), p.reason),
  }));

  server.handleSession(Put, async (p, ctx, s) => {
    ctx.work.begin('Writing dataset');
    try {
      const pending = decodePutPayload(p.payload, server.options.maxInlineBytes);
      const decoded = pending instanceof Promise ? await pending : pending;
      ctx.progress(0.3, 'decoded');
      ctx.checkCancelled();
      const result = await s.butler.put(refArg(p.ref, s.butler), decoded.source, ctx, p.provenance);
      if (decoded.afterPut) await decoded.afterPut();
      return spliced<z.input<typeof Put.result>>(putAnswer(result));
    } finally {
      ctx.work.end();
    }
  }, usualPutParams);

  server.handleSession(PruneDatasets, async (p, _ctx, s) => ({
    pruned: await s.butler.pruneDatasets(
      p.refs.map((r) => refArg(r, s.butler)),
      { disassociate: p.disassociate, unstore: p.unstore, purge: p.purge },
    ),
  }));

  server.handleSession(GetURIs, (p, _ctx, s) => s.butler.getURIs(refArg(p.ref, s.butler), p.predict));

  server.handleSession(ExtractProvenance, async (p, _ctx, s) => {
    if (p.format !== 'prov' && p.format !== 'openlineage') return s.butler.extractProvenance(p.format);
    // Taken before the await: the document is the session's state when the request arrived.
    const native = s.butler.extractProvenance('native');
    // The export formats live in the repository layer, loaded on first use rather than at start.
    const { toOpenLineage, toProvJson } = await import('../../repository/export-formats.js');
    return p.format === 'prov' ? toProvJson(native) : toOpenLineage(native);
  });

  server.handleSession(ExportPredictedRecords, (p, _ctx, s) => {
    const byName = s.butler.exportPredictedRecords(p.refs.map((r) => refArg(r, s.butler)));
    return { records: Object.fromEntries(Object.entries(byName).map(([name, data]) => [name, serializeDatastoreRecordData(data)])) };
  });

  server.handleSession(GetManyURIs, async (p, _ctx, s) => {
    const found = await s.butler.getManyURIs(p.refs.map((r) => refArg(r, s.butler)), p.predict, p.allowMissing);
    return { uris: Object.fromEntries(found) };
  });

  server.handleSession(GetDatastoreRoots, (_p, _ctx, s) => ({ roots: s.butler.datastoreRoots(), names: s.butler.datastoreNames() }));

  server.handleSession(RetrieveArtifacts, async (p, ctx, s) => {
    if (p.transfer === 'move') throw new InvalidArgument('Can not move artifacts out of datastore. Use copy instead.');
    if (!isAbsolute(p.destination)) throw new InvalidArgument(`File paths must be absolute: ${JSON.stringify(p.destination)}`);
    ctx.work.begin('Retrieving artifacts');
    try {
      const written = await s.butler.retrieveArtifacts(
        p.refs.map((r) => refArg(r, s.butler)),
        { destination: p.destination, transfer: p.transfer, preservePath: p.preservePath, overwrite: p.overwrite },
        ctx,
      );
      return { paths: written.map((a) => a.path) };
    } finally {
      ctx.work.end();
    }
  });

  server.handleSession(RetrieveArtifactsZip, async (p, _ctx, s) => ({
    path: await s.butler.retrieveArtifactsZip(p.refs.map((r) => refArg(r, s.butler)), p.destination, p.overwrite),
  }));

  server.handleSession(Metrics, (p, _ctx, s) => {
    const m = { ...s.butler.metrics };
    if (p.reset) s.butler.resetMetrics();
    return m;
  });
}
