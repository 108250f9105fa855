/** Request counters and per-method latency for server/stats. */
const WINDOW = 1024; // latencies kept per method for percentiles

/** Where unknown methods are counted, all together: their names come from the host, without end. */
export const UNKNOWN_METHOD = '(unknown)';

interface MethodStats {
  count: number;
  errors: number;
  totalMs: number;
  maxMs: number;
  recent: number[];
  next: number;
}

export class Stats {
  readonly startedAt = Date.now();
  requests = 0;
  errors = 0;
  notificationsSent = 0;
  bytesIn = 0;
  bytesOut = 0;
  private readonly methods = new Map<string, MethodStats>();

  record(method: string, ms: number, failed: boolean): void {
    this.requests++;
    if (failed) this.errors++;
    let m = this.methods.get(method);
    if (!m) {
      m = { count: 0, errors: 0, totalMs: 0, maxMs: 0, recent: [], next: 0 };
      this.methods.set(method, m);
    }
    m.count++;
    if (failed) m.errors++;
    m.totalMs += ms;
    m.maxMs = Math.max(m.maxMs, ms);
    if (m.recent.length < WINDOW) m.recent.push(ms);
    else m.recent[m.next++ % WINDOW] = ms;
  }

  methodSummary(): Record<string, { count: number; errors: number; meanMs: number; p50Ms: number; p99Ms: number; maxMs: number }> {
    const out: Record<string, { count: number; errors: number; meanMs: number; p50Ms: number; p99Ms: number; maxMs: number }> = {};
    for (const [name, m] of this.methods) {
      const s = [...m.recent].sort((a, b) => a - b);
      const pct = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : 0);
      out[name] = { count: m.count, errors: m.errors, meanMs: m.totalMs / m.count, p50Ms: pct(0.5), p99Ms: pct(0.99), maxMs: m.maxMs };
    }
    return out;
  }
}
