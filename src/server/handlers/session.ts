/** session/open, session/close, session/list. */
import { v4 as uuidv4 } from 'uuid';
import { SessionClose, SessionList, SessionOpen } from '../../../protocol/session.js';
import { ProvenanceBatchNotification, ProvenanceNotification } from '../../../protocol/notifications.js';
import type { ProvenanceEvent } from '../../../protocol/provenance.js';
import { StoreEventNotification } from '../../../protocol/store.js';
import { MemoryDatastoreRegistry } from '../../datastore/memory-datastore-registry.js';
import { openButler } from '../../butler/open-butler.js';
import type { QuantumBackedButler } from '../../butler/quantum-backed-butler.js';
import { isAbsolute } from 'node:path';
import { InconsistentUniverse, InvalidArgument, SessionConflict } from '../../model/errors.js';
import { universeFrom } from '../../model/dimensions/default-universe.js';
import type { DimensionUniverse } from '../../model/dimensions/dimension-universe.js';
import { Mutex } from '../../util/mutex.js';
import type { Server } from '../server.js';
import { asciiProvenanceEventJson } from '../provenance-event-json.js';
import { releaseSession, writeProvenanceFile, type Session } from '../session-table.js';
import type { StoreSpec } from '../../store/store-factory.js';
import type { Store } from '../../store/store.js';
import type { Datastore } from '../../datastore/datastore.js';
import { StorageClassRegistry } from '../../model/storage-class.js';

/**
 * The session's universe: the repository's for a repository session (a `dimensions` given
 * too must be the same universe), else the one `dimensions` gives, else daf_butler's default.
 */
function sessionUniverse(dimensions: unknown, repositoryUniverse: DimensionUniverse | undefined): DimensionUniverse {
  if (!repositoryUniverse) return universeFrom(dimensions);
  if (dimensions === undefined) return repositoryUniverse;
  const given = universeFrom(dimensions);
  if (given !== repositoryUniverse) {
    throw new InconsistentUniverse(`The session's dimensions (${given.label}) are not the repository's universe (${repositoryUniverse.label}).`, {
      details: { session: given.toJSON(), repository: repositoryUniverse.toJSON() },
    });
  }
  return given;
}

function summary(s: Session) {
  return {
    sessionId: s.id,
    quantumId: s.butler.quantumId,
    taskName: s.taskName,
    openedAt: s.openedAt,
    datastore: s.butler.datastore.name,
    store: s.store.info().kind,
    predictedInputs: s.butler.predictedInputCount,
    predictedOutputs: s.butler.predictedOutputCount,
    notifications: [...s.streams],
  };
}

/** Canonical JSON (sorted keys) so re-opening with the same params is recognised. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

export function registerSession(server: Server): void {
  const opening = new Mutex(); // session ids are claimed one open at a time
  const datastores = new MemoryDatastoreRegistry();
  server.closeAtExit(() => datastores.closeAll());

  server.handle(SessionOpen, (params, ctx) =>
    opening.run(async () => {
      const sessionId = params.sessionId ?? uuidv4();
      if (params.provenanceFile !== undefined && !isAbsolute(params.provenanceFile)) {
        throw new InvalidArgument(`provenanceFile must be an absolute path: ${JSON.stringify(params.provenanceFile)}`, { sessionId });
      }
      const key = canonical({ ...params, sessionId });
      const existing = server.sessions.find(sessionId);
      if (existing) {
        if (existing.paramsKey !== key) {
          throw new SessionConflict(`Session ${sessionId} is already open with different parameters.`, { sessionId });
        }
        return { ...summary(existing), reopened: true };
      }
      let datastore: Datastore & { storageClasses: StorageClassRegistry };
      let store: Store;
      let ownsStore: boolean;
      let storeReadOnly = false;
      let repositoryUniverse: DimensionUniverse | undefined;
      if (params.repository) {
        const repo = await server.repositories.open(params.repository.root);
        repositoryUniverse = repo.universe;
        // The repository's storage classes, plus the session's own, without changing the repository's.
        const storageClasses = StorageClassRegistry.withBuiltins();
        storageClasses.loadConfig(repo.config.storageClasses as never);
        datastore = repo.datastore(params.repository.recordsFile, storageClasses);
        store = repo.artifactStore;
        ownsStore = false;
        storeReadOnly = true;
      } else {
        const spec: StoreSpec = params.mount
          ? { kind: 'mounted', prefix: params.mount.prefix, mount: params.store, over: params.mount.over }
          : params.store;
        ({ datastore, store } = await datastores.open(params.datastore.name, spec));
        ownsStore = params.datastore.name === undefined;
      }
      if (params.storageClasses) datastore.storageClasses.loadConfig(params.storageClasses as never);
      let universe: DimensionUniverse;
      try {
        universe = sessionUniverse(params.dimensions, repositoryUniverse);
      } catch (err) {
        datastore.close();
        if (ownsStore) await store.close().catch(() => {});
        throw err;
      }
      const streams = new Set(params.notifications);
      let butler: QuantumBackedButler;
      try {
        butler = await openButler({
          sessionId,
          quantumId: params.quantumId,
          quantum: params.quantum,
          predicted: params.predicted,
          datasetTypes: params.datasetTypes,
          strictDeferred: params.strictDeferred,
          datastore,
          storageClasses: datastore.storageClasses,
          universe,
          onEvent: streams.has('provenance') ? provenanceSender(server) : undefined,
        });
      } catch (err) {
        // Nothing was registered yet: release what was opened for this session.
        datastore.close();
        if (ownsStore) await store.close().catch(() => {});
        throw err;
      }
      ctx.checkCancelled();
      const session: Session = {
        id: sessionId,
        butler,
        streams,
        openedAt: butler.startedAt,
        taskName: butler.taskName,
        paramsKey: key,
        mutex: new Mutex(),
        store,
        ownsStore,
        storeReadOnly,
        transactions: new Map(),
        storeSeq: 0,
        abandoned: false,
        unsubscribe: streams.has('store')
          ? store.on((event) => server.notify(StoreEventNotification, { sessionId, seq: ++session.storeSeq, event }))
          : () => {},
        ...(params.provenanceFile !== undefined ? { provenanceFile: params.provenanceFile } : {}),
      };
      try {
        server.sessions.add(session);
      } catch (err) {
        await releaseSession(session);
        throw err;
      }
      server.logger.info('session opened', { sessionId, inputs: butler.predictedInputCount, outputs: butler.predictedOutputCount });
      return { ...summary(session), reopened: false };
    }),
  );

  server.handle(SessionClose, async (params) => {
    const session = server.sessions.find(params.sessionId);
    if (!session) return { alreadyClosed: true, provenance: null };
    // Wait for the session's queued work, then close it.
    return session.mutex.run(async () => {
      if (server.sessions.find(params.sessionId) !== session) return { alreadyClosed: true, provenance: null };
      server.sessions.remove(session.id);
      await releaseSession(session);
      const provenance = session.butler.close();
      await writeProvenanceFile(session, provenance);
      for (const d of provenance.diagnostics.filter((x) => x.severity === 'warning')) {
        // daf_butler logs these as warnings; we also return them structured in the provenance.
        server.logger.warn(`session ${session.id}: ${d.code}: ${d.message} (${d.datasetIds.length} datasets)`, { sessionId: session.id });
      }
      server.logger.info('session closed', { sessionId: session.id });
      return { alreadyClosed: false, provenance };
    });
  });

  server.handle(SessionList, () => ({ sessions: server.sessions.list().map(summary) }));
}

/** How a session's provenance events leave, in the form the client declared it reads (chosen at initialize, before any session). */
function provenanceSender(server: Server): (event: ProvenanceEvent) => void {
  switch (server.provenanceForm) {
    case 'runs': {
      const form = server.provenanceRuns;
      return (event) => server.notifyInForm(form, event);
    }
    case 'batches':
      return (event) => server.notifyBatched(ProvenanceBatchNotification, event, asciiProvenanceEventJson);
    case 'events':
      return (event) => server.notify(ProvenanceNotification, event);
  }
}
