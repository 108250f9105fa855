/** A session's key-value store seen from the client, with encore's method names. */
import * as P from '../../protocol/store.js';
import type { QuantumButlerClient } from './client.js';
import { bytesOfBase64 } from '../util/owned-bytes.js';

type Metadata = Record<string, unknown>;
const b64 = (b: Buffer | string) => (typeof b === 'string' ? Buffer.from(b) : b).toString('base64');
/** Values a host may keep: in memory of their own, not slices of Node's shared pool. */
const bytes = bytesOfBase64;

export class SessionStore {
  constructor(
    private readonly client: QuantumButlerClient,
    readonly sessionId: string,
  ) {}

  private get s() {
    return { sessionId: this.sessionId };
  }

  info() {
    return this.client.request(P.StoreInfoRequest, this.s);
  }
  async get(key: string) {
    const v = await this.client.request(P.StoreGet, { ...this.s, key });
    return { ...v, data: bytes(v.data) };
  }
  async getData(key: string): Promise<Buffer> {
    return bytes((await this.client.request(P.StoreGetData, { ...this.s, key })).data);
  }
  async getDataRange(key: string, start?: number, end?: number): Promise<Buffer> {
    return bytes((await this.client.request(P.StoreGetDataRange, { ...this.s, key, start, end })).data);
  }
  async getMetadata(key: string, select?: string[]): Promise<Metadata> {
    return (await this.client.request(P.StoreGetMetadata, { ...this.s, key, select })).metadata;
  }
  async exists(key: string): Promise<boolean> {
    return (await this.client.request(P.StoreExists, { ...this.s, key })).exists;
  }
  async set(key: string, data: Buffer | string, metadata: Metadata = {}): Promise<void> {
    await this.client.request(P.StoreSet, { ...this.s, key, data: b64(data), metadata });
  }
  async setData(key: string, data: Buffer | string): Promise<void> {
    await this.client.request(P.StoreSetData, { ...this.s, key, data: b64(data) });
  }
  async setMetadata(key: string, metadata: Metadata): Promise<void> {
    await this.client.request(P.StoreSetMetadata, { ...this.s, key, metadata });
  }
  async updateMetadata(key: string, metadata: Metadata): Promise<void> {
    await this.client.request(P.StoreUpdateMetadata, { ...this.s, key, metadata });
  }
  async delete(key: string): Promise<void> {
    await this.client.request(P.StoreDelete, { ...this.s, key });
  }
  async multiget(keys: string[]) {
    return (await this.client.request(P.StoreMultiget, { ...this.s, keys })).values.map((v) => ({ ...v, data: bytes(v.data) }));
  }
  async multigetData(keys: string[]): Promise<Buffer[]> {
    return (await this.client.request(P.StoreMultigetData, { ...this.s, keys })).datas.map(bytes);
  }
  async multigetMetadata(keys: string[], select?: string[]): Promise<Metadata[]> {
    return (await this.client.request(P.StoreMultigetMetadata, { ...this.s, keys, select })).metadatas;
  }
  async multiset(keys: string[], datas: Array<Buffer | string>, metadatas: Metadata[]): Promise<void> {
    await this.client.request(P.StoreMultiset, { ...this.s, keys, datas: datas.map(b64), metadatas });
  }
  async multisetData(keys: string[], datas: Array<Buffer | string>): Promise<void> {
    await this.client.request(P.StoreMultisetData, { ...this.s, keys, datas: datas.map(b64) });
  }
  async multisetMetadata(keys: string[], metadatas: Metadata[]): Promise<void> {
    await this.client.request(P.StoreMultisetMetadata, { ...this.s, keys, metadatas });
  }
  async multiupdateMetadata(keys: string[], metadatas: Metadata[]): Promise<void> {
    await this.client.request(P.StoreMultiupdateMetadata, { ...this.s, keys, metadatas });
  }
  async glob(pattern: string): Promise<string[]> {
    return (await this.client.request(P.StoreGlob, { ...this.s, pattern })).keys;
  }
  async query(match: Metadata, select?: string[]): Promise<Array<[string, Metadata]>> {
    return (await this.client.request(P.StoreQuery, { ...this.s, match, select })).results.map((r) => [r.key, r.metadata]);
  }
  async queryKeys(match: Metadata): Promise<string[]> {
    return (await this.client.request(P.StoreQueryKeys, { ...this.s, match })).keys;
  }
  async fromFile(key: string, path: string): Promise<void> {
    await this.client.request(P.StoreFromFile, { ...this.s, key, path });
  }
  async toFile(key: string, path: string): Promise<void> {
    await this.client.request(P.StoreToFile, { ...this.s, key, path });
  }
  async fromBytes(key: string, data: Buffer | string): Promise<void> {
    await this.client.request(P.StoreFromBytes, { ...this.s, key, data: b64(data) });
  }
  async toBytes(key: string): Promise<Buffer> {
    return bytes((await this.client.request(P.StoreToBytes, { ...this.s, key })).data);
  }
  async push(key: string): Promise<void> {
    await this.client.request(P.StorePush, { ...this.s, key });
  }
  /** Begin a transaction; commit or roll back through the returned handle. */
  async begin(notes = '') {
    const { transactionId } = await this.client.request(P.StoreBeginTransaction, { ...this.s, notes });
    return {
      transactionId,
      commit: async () => void (await this.client.request(P.StoreCommitTransaction, { ...this.s, transactionId })),
      rollback: async () => void (await this.client.request(P.StoreRollbackTransaction, { ...this.s, transactionId })),
    };
  }
}
