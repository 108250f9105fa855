/**
 * The events of a `butler/provenanceRuns` notification (protocol/notifications.ts), each
 * rebuilt as exactly the `butler/provenance` params it stands for: its members in that
 * message's order (sessionId, seq, event, datasetId, datasetType, time, then the event's own).
 */
import type { ProvenanceEvent } from '../../protocol/provenance.js';

interface Run {
  sessionId: string;
  seq: number;
  time: string;
  events: [ProvenanceEvent['event'], string, string, Partial<ProvenanceEvent>?][];
}

/** Hands each event of `runs` (the params' `runs`), in order, to `each`; throws on params that are not runs. */
export function forEachRunEvent(runs: unknown, each: (event: ProvenanceEvent) => void): void {
  if (!Array.isArray(runs)) throw new Error('butler/provenanceRuns: runs is not an array');
  for (const run of runs as Run[]) {
    const { sessionId, seq, time, events } = run;
    if (!Array.isArray(events)) throw new Error('butler/provenanceRuns: a run without events');
    for (let i = 0; i < events.length; i++) {
      const t = events[i]!;
      const event: ProvenanceEvent = { sessionId, seq: seq + i, event: t[0], datasetId: t[1], datasetType: t[2], time };
      each(t.length > 3 ? Object.assign(event, t[3]) : event);
    }
  }
}
