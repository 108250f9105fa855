/**
 * The sessions of one sidecar: each a quantum-backed butler, the streams it asked
 * for, and a mutex so its operations run one at a time while sessions run
 * concurrently with each other.
 */
import type { QuantumBackedButler } from '../butler/quantum-backed-butler.js';
import type { NotificationStream } from '../../protocol/lifecycle.js';
import { IOFailure, SessionNotFound, TooManySessions } from '../model/errors.js';
import type { NativeProvenance } from '../../protocol/provenance.js';
import { writeDestination } from './payload.js';
import { Mutex } from '../util/mutex.js';
import type { Store, Transaction } from '../store/store.js';

export interface Session {
  readonly id: string;
  readonly butler: QuantumBackedButler;
  readonly streams: ReadonlySet<NotificationStream>;
  readonly openedAt: string;
  readonly taskName: string | null;
  /** Canonical JSON of the open params, for idempotent re-open. */
  readonly paramsKey: string;
  readonly mutex: Mutex;
  /** The key-value store under the session's datastore (store/* methods act on it). */
  readonly store: Store;
  /** Private stores close with the session; named datastores' stores outlive it. */
  readonly ownsStore: boolean;
  /** A repository's artifact store is read-only through store/*: its files belong to the registry. */
  readonly storeReadOnly: boolean;
  /** Transactions begun over RPC and not yet committed or rolled back. */
  readonly transactions: Map<string, Transaction>;
  /** Stops the store/event stream. */
  readonly unsubscribe: () => void;
  /** Where the provenance document is written when the session ends, however it ends. */
  readonly provenanceFile?: string;
  storeSeq: number;
  /** The server closed the session while a call was still running (shutdown, exit): the call stops at its next check. */
  abandoned: boolean;
}

/**
 * Write the session's provenance document to its `provenanceFile`, if it asked for one
 * (atomically: a temporary file, then a rename). A failure is an IOFailure whose details
 * carry the document, so that it is not lost with the file.
 */
export async function writeProvenanceFile(s: Session, provenance: NativeProvenance): Promise<void> {
  if (s.provenanceFile === undefined) return;
  try {
    await writeDestination(s.provenanceFile, Buffer.from(JSON.stringify(provenance, null, 2) + '\n'));
  } catch (err) {
    throw new IOFailure(`Cannot write the provenance of session ${s.id} to ${s.provenanceFile}: ${(err as Error).message}`, {
      sessionId: s.id,
      details: { provenanceFile: s.provenanceFile, provenance },
    });
  }
}

/** Release what a session holds: roll back its open transactions, stop events, close a private store. */
export async function releaseSession(s: Session): Promise<void> {
  for (const tx of s.transactions.values()) await tx.rollback().catch(() => {});
  s.transactions.clear();
  s.unsubscribe();
  s.butler.datastore.close();
  if (s.ownsStore) await s.store.close().catch(() => {});
}

export class SessionTable {
  private readonly sessions = new Map<string, Session>();

  constructor(readonly maxConcurrent: number) {}

  get(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new SessionNotFound(`No open session ${id}.`, { sessionId: id });
    return s;
  }

  find(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  add(session: Session): void {
    if (this.sessions.size >= this.maxConcurrent) {
      throw new TooManySessions(`Too many open sessions (${this.maxConcurrent}); close one first.`, { sessionId: session.id });
    }
    this.sessions.set(session.id, session);
  }

  remove(id: string): Session | undefined {
    const s = this.sessions.get(id);
    this.sessions.delete(id);
    return s;
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }
}
