/**
 * The sessions of one sidecar: each a quantum-backed butler, the streams it asked
 * for, and a mutex so its operations run one at a time while sessions run
 * concurrently with each other.
 */
import type { QuantumBackedButler } from '../butler/quantum-backed-butler.js';
import type { NotificationStream } from '../../protocol/lifecycle.js';
import { SessionNotFound, TooManySessions } from '../model/errors.js';
import { Mutex } from '../util/mutex.js';

export interface Session {
  readonly id: string;
  readonly butler: QuantumBackedButler;
  readonly streams: ReadonlySet<NotificationStream>;
  readonly openedAt: string;
  readonly taskName: string | null;
  /** Canonical JSON of the open params, for idempotent re-open. */
  readonly paramsKey: string;
  readonly mutex: Mutex;
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
