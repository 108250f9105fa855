/**
 * store/*: the encore key-value store API on a session's store, one method per
 * call, named after encore's methods in camelCase. Data travels as base64.
 */
import * as z from 'zod';
import { notification, request } from './define.js';
import { SessionIdSchema } from './common.js';

/** A plain (non-mounted) store: in memory, one SQLite file, or a directory tree. */
export const PlainStoreSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('memory') }),
  z.object({ kind: z.literal('sqlite'), path: z.string().min(1).describe("a file path, or ':memory:'") }),
  z.object({ kind: z.literal('file'), path: z.string().min(1).describe('a directory; created if missing') }),
]);
export type PlainStoreSpec = z.infer<typeof PlainStoreSpecSchema>;

export const MountSpecSchema = z.object({
  prefix: z.string().describe('Key prefix the session store is mounted at, usually ending in "/"'),
  over: PlainStoreSpecSchema.describe('Read-only backing store; reads fall through, writes copy up'),
});

const Session = { sessionId: SessionIdSchema };
const Key = { key: z.string() };
const Keys = { keys: z.array(z.string()) };
const Base64 = z.string().describe('bytes, base64');
/**
 * Metadata: a JSON object, checked here only as an object and passed on as it is (the
 * store validates it as JSON). A zod record would rebuild it member by member and drop a
 * member named "__proto__"; a query on that name would then match every key.
 */
export const StoreMetadataSchema = z
  .custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), { message: 'expected a JSON object' })
  .meta({ type: 'object', additionalProperties: {}, description: 'a JSON object' });
const Select = { select: z.array(z.string()).optional().describe('Only these metadata names (missing ones are left out)') };
const Ok = z.null();

export const StoreValueSchema = z.object({
  key: z.string(),
  data: Base64,
  metadata: StoreMetadataSchema,
  size: z.number().int(),
  created: z.number().describe('Unix epoch seconds'),
  modified: z.number().describe('Unix epoch seconds'),
});

export const StoreInfoRequest = request(
  'store/info',
  z.object(Session),
  z.object({ readonly: z.boolean(), kind: z.string() }).loose(),
  'What the session store is (kind, readonly, paths, mount point).',
);
export const StoreGet = request('store/get', z.object({ ...Session, ...Key }), StoreValueSchema, 'Data and metadata of a key.');
export const StoreGetData = request('store/getData', z.object({ ...Session, ...Key }), z.object({ data: Base64 }), 'Data of a key.');
export const StoreGetDataRange = request(
  'store/getDataRange',
  z.object({ ...Session, ...Key, start: z.number().int().optional(), end: z.number().int().optional().describe('exclusive') }),
  z.object({ data: Base64 }),
  'Bytes [start, end) of a key (clamped to its size).',
);
export const StoreGetMetadata = request(
  'store/getMetadata',
  z.object({ ...Session, ...Key, ...Select }),
  z.object({ metadata: StoreMetadataSchema }),
  'Metadata of a key.',
);
export const StoreExists = request('store/exists', z.object({ ...Session, ...Key }), z.object({ exists: z.boolean() }), 'Does the key exist?');
export const StoreSet = request(
  'store/set',
  z.object({ ...Session, ...Key, data: Base64, metadata: StoreMetadataSchema }),
  Ok,
  'Set data and metadata.',
);
export const StoreSetData = request('store/setData', z.object({ ...Session, ...Key, data: Base64 }), Ok, 'Set data, keeping metadata.');
export const StoreSetMetadata = request(
  'store/setMetadata',
  z.object({ ...Session, ...Key, metadata: StoreMetadataSchema }),
  Ok,
  'Replace metadata, keeping data.',
);
export const StoreUpdateMetadata = request(
  'store/updateMetadata',
  z.object({ ...Session, ...Key, metadata: StoreMetadataSchema }),
  Ok,
  'Merge into metadata (the key must exist).',
);
export const StoreDelete = request('store/delete', z.object({ ...Session, ...Key }), Ok, 'Delete a key.');
export const StoreMultiget = request('store/multiget', z.object({ ...Session, ...Keys }), z.object({ values: z.array(StoreValueSchema) }), 'get, for many keys, in order.');
export const StoreMultigetData = request('store/multigetData', z.object({ ...Session, ...Keys }), z.object({ datas: z.array(Base64) }), 'getData, for many keys.');
export const StoreMultigetMetadata = request(
  'store/multigetMetadata',
  z.object({ ...Session, ...Keys, ...Select }),
  z.object({ metadatas: z.array(StoreMetadataSchema) }),
  'getMetadata, for many keys.',
);
export const StoreMultiset = request(
  'store/multiset',
  z.object({ ...Session, ...Keys, datas: z.array(Base64), metadatas: z.array(StoreMetadataSchema) }),
  Ok,
  'set, for many keys, in one transaction (zip semantics: extra items are ignored).',
);
export const StoreMultisetData = request('store/multisetData', z.object({ ...Session, ...Keys, datas: z.array(Base64) }), Ok, 'setData, for many keys.');
export const StoreMultisetMetadata = request(
  'store/multisetMetadata',
  z.object({ ...Session, ...Keys, metadatas: z.array(StoreMetadataSchema) }),
  Ok,
  'setMetadata, for many keys.',
);
export const StoreMultiupdateMetadata = request(
  'store/multiupdateMetadata',
  z.object({ ...Session, ...Keys, metadatas: z.array(StoreMetadataSchema) }),
  Ok,
  'updateMetadata, for many keys.',
);
export const StoreGlob = request(
  'store/glob',
  z.object({ ...Session, pattern: z.string() }),
  z.object({ keys: z.array(z.string()) }),
  'Keys matching a glob (* stops at /, ** crosses it, dots match; see "Glob patterns"): InvalidArgument for a pattern over the limits.',
);
export const StoreQuery = request(
  'store/query',
  z.object({ ...Session, match: StoreMetadataSchema.default({}), ...Select }),
  z.object({ results: z.array(z.object({ key: z.string(), metadata: StoreMetadataSchema })) }),
  'Keys whose metadata matches every name exactly, with (projected) metadata.',
);
export const StoreQueryKeys = request(
  'store/queryKeys',
  z.object({ ...Session, match: StoreMetadataSchema.default({}) }),
  z.object({ keys: z.array(z.string()) }),
  'Keys whose metadata matches every name exactly.',
);
export const StoreFromFile = request(
  'store/fromFile',
  z.object({ ...Session, ...Key, path: z.string().describe('absolute path') }),
  Ok,
  'Set data from a file on the sidecar host (metadata kept).',
);
export const StoreToFile = request('store/toFile', z.object({ ...Session, ...Key, path: z.string().describe('absolute path') }), Ok, 'Write data to a file on the sidecar host.');
export const StoreFromBytes = request('store/fromBytes', z.object({ ...Session, ...Key, data: Base64 }), Ok, 'Set data from bytes (metadata kept).');
export const StoreToBytes = request('store/toBytes', z.object({ ...Session, ...Key }), z.object({ data: Base64 }), 'Data of a key as bytes.');
export const StoreBeginTransaction = request(
  'store/beginTransaction',
  z.object({ ...Session, notes: z.string().default('') }),
  z.object({ transactionId: z.string() }),
  'Begin a transaction: the session store\'s writes join it until commit or rollback; events are held until commit.',
);
export const StoreCommitTransaction = request(
  'store/commitTransaction',
  z.object({ ...Session, transactionId: z.string() }),
  Ok,
  'Commit a transaction.',
);
export const StoreRollbackTransaction = request(
  'store/rollbackTransaction',
  z.object({ ...Session, transactionId: z.string() }),
  Ok,
  'Roll back a transaction: every write in it is undone and no set/delete events are emitted.',
);
export const StorePush = request(
  'store/push',
  z.object({ ...Session, ...Key }),
  Ok,
  'Mounted stores: move a key from the mount down to the backing store.',
);

export const StoreEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.enum(['set', 'update', 'delete']), key: z.string(), metadata: StoreMetadataSchema }),
  z.object({ type: z.literal('transactionStart'), notes: z.string() }),
  z.object({ type: z.literal('transactionEnd'), notes: z.string(), state: z.enum(['done', 'failed']) }),
  z.object({ type: z.literal('progressStart'), operationId: z.string(), key: z.string(), steps: z.number(), message: z.string().optional() }),
  z.object({ type: z.literal('progressStep'), operationId: z.string(), key: z.string(), step: z.number() }),
  z.object({ type: z.literal('progressEnd'), operationId: z.string(), key: z.string(), exitState: z.enum(['normal', 'error']) }),
]);

export const StoreEventNotification = notification(
  'store/event',
  z.object({ sessionId: z.string(), seq: z.number().int(), event: StoreEventSchema }),
  'out',
  'One store event of a session (stream "store"): set, update, delete, transaction start/end, progress.',
);
