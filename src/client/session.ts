/** One open session seen from the client: daf_butler-like method names over the protocol. */
import {
  Dimensions,
  ExtractProvenance,
  Get,
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
  SessionClose,
  Stored,
  StoredMany,
  type DatasetRefInput,
  type ParamsOf,
  type Payload,
  type ProvenanceDocument,
  type ProvenanceFormat,
  type ResultOf,
} from '../../protocol/index.js';
import type { SessionOpen } from '../../protocol/session.js';
import type { QuantumButlerClient } from './client.js';
import { SessionStore } from './store.js';
import { bytesOfBase64 } from '../util/owned-bytes.js';

type RefLike = DatasetRefInput | string;
const asRef = (r: RefLike): DatasetRefInput => (typeof r === 'string' ? { id: r } : r);
type Omit2<T, K extends keyof any> = Omit<T, K>;

export class ButlerSession {
  readonly sessionId: string;
  /** The session's key-value store (store/* methods). */
  readonly store: SessionStore;

  constructor(
    readonly client: QuantumButlerClient,
    readonly info: ResultOf<typeof SessionOpen>,
  ) {
    this.sessionId = info.sessionId;
    this.store = new SessionStore(client, info.sessionId);
  }

  /** Read a dataset and return its value (json/text payloads) or the raw result. */
  async get(ref: RefLike, opts: Omit2<ParamsOf<typeof Get>, 'sessionId' | 'ref'> = {}): Promise<unknown> {
    const r = await this.getResult(ref, opts);
    switch (r.payload.encoding) {
      case 'json':
        return r.payload.value;
      case 'text':
        return r.payload.text;
      case 'base64':
        return bytesOfBase64(r.payload.data); // a host may keep it: not a slice of Node's shared pool
      case 'file':
        return r.payload.path;
    }
  }

  getResult(ref: RefLike, opts: Omit2<ParamsOf<typeof Get>, 'sessionId' | 'ref'> = {}) {
    return this.client.request(Get, { sessionId: this.sessionId, ref: asRef(ref), ...opts });
  }

  getDeferred(ref: RefLike, opts: Omit2<ParamsOf<typeof GetDeferred>, 'sessionId' | 'ref'> = {}) {
    return this.client.request(GetDeferred, { sessionId: this.sessionId, ref: asRef(ref), ...opts });
  }

  loadDeferred(handle: string, opts: Omit2<ParamsOf<typeof LoadDeferred>, 'sessionId' | 'handle'> = {}) {
    return this.client.request(LoadDeferred, { sessionId: this.sessionId, handle, ...opts });
  }

  async stored(ref: RefLike): Promise<boolean> {
    return (await this.client.request(Stored, { sessionId: this.sessionId, ref: asRef(ref) })).stored;
  }

  async storedMany(refs: RefLike[]): Promise<Record<string, boolean>> {
    return (await this.client.request(StoredMany, { sessionId: this.sessionId, refs: refs.map(asRef) })).stored;
  }

  markInputUnused(ref: RefLike, reason?: string) {
    return this.client.request(MarkInputUnused, { sessionId: this.sessionId, ref: asRef(ref), reason });
  }

  /** Put a JSON value (or any payload when `payload` is given), with daf_butler DatasetProvenance if given. */
  put(ref: RefLike, value: unknown, opts: { payload?: Payload; workDoneToken?: string; provenance?: ParamsOf<typeof Put>['provenance'] } = {}) {
    return this.client.request(Put, {
      sessionId: this.sessionId,
      ref: asRef(ref),
      payload: opts.payload ?? { encoding: 'json', value },
      workDoneToken: opts.workDoneToken,
      ...(opts.provenance !== undefined ? { provenance: opts.provenance } : {}),
    });
  }

  pruneDatasets(refs: RefLike[], opts: { disassociate?: boolean; unstore?: boolean; purge?: boolean } = {}) {
    return this.client.request(PruneDatasets, { sessionId: this.sessionId, refs: refs.map(asRef), ...opts });
  }

  getURIs(ref: RefLike, predict = false) {
    return this.client.request(GetURIs, { sessionId: this.sessionId, ref: asRef(ref), predict });
  }

  /** daf_butler get_many_uris: URIs by dataset id. */
  async getManyURIs(refs: RefLike[], opts: { predict?: boolean; allowMissing?: boolean } = {}) {
    return (await this.client.request(GetManyURIs, { sessionId: this.sessionId, refs: refs.map(asRef), ...opts })).uris;
  }

  /** daf_butler get_datastore_roots: datastore name → root URI (null for in-memory). */
  async getDatastoreRoots(): Promise<Record<string, string | null>> {
    return (await this.client.request(GetDatastoreRoots, { sessionId: this.sessionId })).roots;
  }

  /** daf_butler get_datastore_names. */
  async getDatastoreNames(): Promise<string[]> {
    return (await this.client.request(GetDatastoreRoots, { sessionId: this.sessionId })).names;
  }

  /** daf_butler retrieve_artifacts: copy the artifacts to `destination` (absolute); returns the paths written. */
  async retrieveArtifacts(
    refs: RefLike[],
    destination: string,
    opts: Omit2<ParamsOf<typeof RetrieveArtifacts>, 'sessionId' | 'refs' | 'destination'> = {},
  ): Promise<string[]> {
    return (await this.client.request(RetrieveArtifacts, { sessionId: this.sessionId, refs: refs.map(asRef), destination, ...opts })).paths;
  }

  /** daf_butler retrieve_artifacts_zip: one Zip (with its index) in `destination`; returns its path. */
  async retrieveArtifactsZip(refs: RefLike[], destination: string, overwrite = true): Promise<string> {
    return (await this.client.request(RetrieveArtifactsZip, { sessionId: this.sessionId, refs: refs.map(asRef), destination, overwrite })).path;
  }

  /**
   * The provenance so far, typed by format: `native` (default), `daf_butler`
   * QuantumProvenanceData, `prov` (W3C PROV-JSON) or `openlineage` (START and COMPLETE RunEvents).
   */
  extractProvenance(): Promise<ProvenanceDocument<'native'>>;
  extractProvenance<F extends ProvenanceFormat>(format: F): Promise<ProvenanceDocument<F>>;
  async extractProvenance(format: ProvenanceFormat = 'native'): Promise<ProvenanceDocument<ProvenanceFormat>> {
    // The result schema is the union of the formats' documents; the `format` sent says which one it is.
    return (await this.client.request(ExtractProvenance, { sessionId: this.sessionId, format })) as ProvenanceDocument<ProvenanceFormat>;
  }

  metrics(reset = false) {
    return this.client.request(Metrics, { sessionId: this.sessionId, reset });
  }

  /** daf_butler's `dimensions`: the session's universe (namespace, version, elements; its config with `config: true`). */
  dimensions(opts: { config?: boolean } = {}) {
    return this.client.request(Dimensions, { sessionId: this.sessionId, config: opts.config ?? false });
  }

  close() {
    return this.client.request(SessionClose, { sessionId: this.sessionId });
  }
}
