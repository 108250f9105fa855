/** store/*: encore's key-value API on the session's store. Thin: decode, call, encode. */
import * as P from '../../../protocol/store.js';
import { InvalidArgument, ReadOnlyStore, TransactionNotFound } from '../../model/errors.js';
import { isAbsolute } from 'node:path';
import type { Store, StoreValue } from '../../store/store.js';
import { decodeBase64, tooLarge } from '../payload.js';
import type { Server } from '../server.js';
import { Base64Json, spliced } from '../spliced-json.js';
import type { Session } from '../session-table.js';

const decode = (data: string, max: number): Buffer => decodeBase64(data, max, 'data');

function encode(bytes: Buffer, max: number): string {
  if (bytes.length > max) throw tooLarge(bytes.length, max, 'The data');
  return spliced<string>(new Base64Json(bytes));
}

function encodeValue(v: StoreValue, max: number) {
  return { key: v.key, data: encode(v.data, max), metadata: v.metadata, size: v.size, created: v.created, modified: v.modified };
}

export function registerStore(server: Server): void {
  const max = () => server.options.maxInlineBytes;
  const st = (s: Session): Store => s.store;
  /** The store, for a write: refused where the session's store is read-only. */
  const w = (s: Session): Store => {
    if (s.storeReadOnly) {
      throw new ReadOnlyStore(`Session ${s.id} reads a repository's datastore; its store is read-only through store/*.`, { sessionId: s.id });
    }
    return s.store;
  };
  const abs = (path: string): string => {
    if (!isAbsolute(path)) throw new InvalidArgument(`File paths must be absolute: ${JSON.stringify(path)}`);
    return path;
  };
  const nul = async (p: Promise<void>) => {
    await p;
    return null;
  };

  server.handleSession(P.StoreInfoRequest, (_p, _c, s) => (s.storeReadOnly ? { ...st(s).info(), readonly: true } : st(s).info()));
  server.handleSession(P.StoreGet, async (p, _c, s) => encodeValue(await st(s).get(p.key), max()));
  server.handleSession(P.StoreGetData, async (p, _c, s) => ({ data: encode(await st(s).getData(p.key), max()) }));
  server.handleSession(P.StoreGetDataRange, async (p, _c, s) => ({
    data: encode(await st(s).getDataRange(p.key, p.start, p.end), max()),
  }));
  server.handleSession(P.StoreGetMetadata, async (p, _c, s) => ({ metadata: await st(s).getMetadata(p.key, p.select) }));
  server.handleSession(P.StoreExists, async (p, _c, s) => ({ exists: await st(s).exists(p.key) }));
  // Handed over: decode gives bytes in memory of their own, and nothing else holds this request's metadata.
  server.handleSession(P.StoreSet, (p, _c, s) => nul(w(s).set(p.key, decode(p.data, max()), p.metadata, { adopt: true })));
  server.handleSession(P.StoreSetData, (p, _c, s) => nul(w(s).setData(p.key, decode(p.data, max()))));
  server.handleSession(P.StoreSetMetadata, (p, _c, s) => nul(w(s).setMetadata(p.key, p.metadata)));
  server.handleSession(P.StoreUpdateMetadata, (p, _c, s) => nul(w(s).updateMetadata(p.key, p.metadata)));
  server.handleSession(P.StoreDelete, (p, _c, s) => nul(w(s).delete(p.key)));
  server.handleSession(P.StoreMultiget, async (p, _c, s) => ({ values: (await st(s).multiget(p.keys)).map((v) => encodeValue(v, max())) }));
  server.handleSession(P.StoreMultigetData, async (p, _c, s) => ({ datas: (await st(s).multigetData(p.keys)).map((d) => encode(d, max())) }));
  server.handleSession(P.StoreMultigetMetadata, async (p, _c, s) => ({ metadatas: await st(s).multigetMetadata(p.keys, p.select) }));
  server.handleSession(P.StoreMultiset, (p, _c, s) =>
    nul(w(s).multiset(p.keys, p.datas.map((d) => decode(d, max())), p.metadatas)),
  );
  server.handleSession(P.StoreMultisetData, (p, _c, s) => nul(w(s).multisetData(p.keys, p.datas.map((d) => decode(d, max())))));
  server.handleSession(P.StoreMultisetMetadata, (p, _c, s) => nul(w(s).multisetMetadata(p.keys, p.metadatas)));
  server.handleSession(P.StoreMultiupdateMetadata, (p, _c, s) => nul(w(s).multiupdateMetadata(p.keys, p.metadatas)));
  server.handleSession(P.StoreGlob, async (p, _c, s) => ({ keys: await st(s).glob(p.pattern) }));
  server.handleSession(P.StoreQuery, async (p, _c, s) => ({
    results: (await st(s).query(p.match, p.select)).map(([key, metadata]) => ({ key, metadata })),
  }));
  server.handleSession(P.StoreQueryKeys, async (p, _c, s) => ({ keys: await st(s).queryKeys(p.match) }));
  server.handleSession(P.StoreFromFile, (p, _c, s) => nul(w(s).fromFile(p.key, abs(p.path))));
  server.handleSession(P.StoreToFile, (p, _c, s) => nul(st(s).toFile(p.key, abs(p.path))));
  server.handleSession(P.StoreFromBytes, (p, _c, s) => nul(w(s).fromBytes(p.key, decode(p.data, max()))));
  server.handleSession(P.StoreToBytes, async (p, _c, s) => ({ data: encode(await st(s).toBytes(p.key), max()) }));

  server.handleSession(P.StoreBeginTransaction, async (p, _c, s) => {
    const tx = await w(s).begin(p.notes);
    s.transactions.set(tx.id, tx);
    return { transactionId: tx.id };
  });
  const finish = async (s: Session, id: string, how: 'commit' | 'rollback') => {
    const tx = s.transactions.get(id);
    if (!tx) throw new TransactionNotFound(`No open transaction ${id} in session ${s.id}.`, { sessionId: s.id });
    s.transactions.delete(id);
    await (how === 'commit' ? tx.commit() : tx.rollback());
    return null;
  };
  server.handleSession(P.StoreCommitTransaction, (p, _c, s) => finish(s, p.transactionId, 'commit'));
  server.handleSession(P.StoreRollbackTransaction, (p, _c, s) => finish(s, p.transactionId, 'rollback'));

  server.handleSession(P.StorePush, async (p, _c, s) => {
    const store = w(s) as Store & { push?: (key: string) => Promise<void> };
    if (typeof store.push !== 'function') {
      throw new InvalidArgument(`store/push needs a mounted store; this session's store is ${store.info().kind}.`, { sessionId: s.id });
    }
    await store.push(p.key);
    return null;
  });
}
