/** session/open, session/close, session/list. */
import { v4 as uuidv4 } from 'uuid';
import { ProvenanceNotification, SessionClose, SessionList, SessionOpen } from '../../../protocol/index.js';
import { openButler } from '../../butler/open-butler.js';
import { SessionConflict } from '../../model/errors.js';
import { Mutex } from '../../util/mutex.js';
import { isoNow } from '../../util/time.js';
import type { Server } from '../server.js';
import type { Session } from '../session-table.js';

function summary(s: Session) {
  return {
    sessionId: s.id,
    quantumId: s.butler.quantumId,
    taskName: s.taskName,
    openedAt: s.openedAt,
    datastore: s.butler.datastore.name,
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

  server.handle(SessionOpen, (params, ctx) =>
    opening.run(async () => {
      const sessionId = params.sessionId ?? uuidv4();
      const key = canonical({ ...params, sessionId });
      const existing = server.sessions.find(sessionId);
      if (existing) {
        if (existing.paramsKey !== key) {
          throw new SessionConflict(`Session ${sessionId} is already open with different parameters.`, { sessionId });
        }
        return { ...summary(existing), reopened: true };
      }
      const { datastore } = await server.datastores.open(params.datastore.name);
      if (params.storageClasses) datastore.storageClasses.loadConfig(params.storageClasses as never);
      const streams = new Set(params.notifications);
      const butler = await openButler({
        sessionId,
        quantumId: params.quantumId,
        quantum: params.quantum,
        predicted: params.predicted,
        datasetTypes: params.datasetTypes,
        strictDeferred: params.strictDeferred,
        datastore,
        storageClasses: datastore.storageClasses,
        onEvent: streams.has('provenance') ? (event) => server.notify(ProvenanceNotification, event) : undefined,
      });
      ctx.checkCancelled();
      const session: Session = {
        id: sessionId,
        butler,
        streams,
        openedAt: isoNow(),
        taskName: butler.taskName,
        paramsKey: key,
        mutex: new Mutex(),
      };
      server.sessions.add(session);
      server.logger.info('session opened', { sessionId, inputs: butler.predictedInputCount, outputs: butler.predictedOutputCount });
      return { ...summary(session), reopened: false };
    }),
  );

  server.handle(SessionClose, async (params) => {
    const session = server.sessions.find(params.sessionId);
    if (!session) return { alreadyClosed: true, provenance: null };
    // Wait for the session's queued work, then close it.
    return session.mutex.run(() => {
      if (server.sessions.find(params.sessionId) !== session) return { alreadyClosed: true, provenance: null };
      server.sessions.remove(session.id);
      const provenance = session.butler.close();
      for (const d of provenance.diagnostics) {
        // daf_butler logs these as warnings; we also return them structured in the provenance.
        server.logger.warn(`session ${session.id}: ${d.code}: ${d.message} (${d.datasetIds.length} datasets)`, { sessionId: session.id });
      }
      server.logger.info('session closed', { sessionId: session.id });
      return { alreadyClosed: false, provenance };
    });
  });

  server.handle(SessionList, () => ({ sessions: server.sessions.list().map(summary) }));
}
