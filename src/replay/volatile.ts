/**
 * The recorder's rules for values that change from run to run. Recorded responses keep
 * every value literally except these, which become placeholders:
 *
 * - uuids that are not deterministic (any version but 3 and 5, e.g. session ids,
 *   quantum ids, handles, transaction ids, UNIQUE dataset ids) and were not written in
 *   the script: a named placeholder, named after the key the value first appeared
 *   under (`{{uuid:handle}}`, then `{{handle}}`; a second value gets `handle2`), so a
 *   script can send `{{handle}}` back;
 * - ISO times anywhere: `{{time}}`;
 * - counters of the process and timings (uptimeMs, pid, rssBytes, bytesIn, meanMs,
 *   time_in_get, every number under `timings`...): `{{int}}` / `{{number}}`;
 * - host and node version: `{{string}}`;
 * - the temporary directory and fixture paths inside any string: `{{tmpdir}}`,
 *   `{{fixtureRepo}}`, `{{fixtureDir}}`;
 * - durations in trace text ("server/ping ok in 0.05 ms"): `{{number}}`.
 */
import { EMBEDDED_TIME_RE, EMBEDDED_UUID_RE, PLACEHOLDER_TYPES, TIME_RE, UUID_RE, escapeRegex } from './placeholder.js';

const INT_KEYS = new Set(['uptimeMs', 'pid', 'qb:pid', 'rssBytes', 'heapUsedBytes', 'bytesIn', 'bytesOut']);
const NUMBER_KEYS = new Set(['meanMs', 'p50Ms', 'p99Ms', 'maxMs', 'time_in_get', 'time_in_put', 'created', 'modified']);
/** Objects whose every number is a timing. */
const TIMING_CONTAINERS = new Set(['timings']);
// qb:* are the same values in the PROV-JSON export.
const STRING_KEYS = new Set(['host', 'node', 'runtime', 'qb:host', 'qb:runtime']);
const TEXT_RULES: Array<[RegExp, string]> = [[/ in \d+(?:\.\d+)? ms\b/g, ' in {{number}} ms']];

/** Deterministic uuids (daf_butler's DATAID_TYPE[_RUN] ids are uuid5) stay literal. */
const isDeterministicUuid = (u: string) => u[14] === '5' || u[14] === '3';

export interface VolatileOptions {
  /** Paths to write as placeholders, e.g. {path: '/tmp/qb-replay-x', name: 'tmpdir'}. */
  paths: Array<{ path: string; name: string }>;
  /** Uuids written in the script: chosen by its author, so not volatile. */
  stable: Set<string>;
  /** Names already taken (environment, captures). */
  reserved: Iterable<string>;
}

export class Generalizer {
  /** Every volatile value named so far, for substitution into later sends. */
  readonly named = new Map<string, string>();
  private readonly byValue = new Map<string, string>();
  private readonly used: Set<string>;
  private readonly pathRules: Array<[RegExp, string]>;

  constructor(private readonly opts: VolatileOptions) {
    this.used = new Set(opts.reserved);
    // Longest first, so the fixture repo wins over the tmpdir that holds it; and only at a
    // path boundary, so /tmp/x does not eat the start of /tmp/xy or /tmp/x.json (a
    // sentence's full stop is a boundary).
    this.pathRules = [...opts.paths]
      .sort((a, b) => b.path.length - a.path.length)
      .map(({ path, name }) => [new RegExp(`${escapeRegex(path)}(?![\\w-]|\\.[\\w-])`, 'g'), `{{${name}}}`]);
  }

  reserve(name: string): void {
    this.used.add(name);
  }

  /** A value bound elsewhere (a transcript's own placeholder): reuse its name for it. */
  know(name: string, l: { found: boolean; value?: unknown }): void {
    this.used.add(name);
    if (l.found && typeof l.value === 'string' && UUID_RE.test(l.value) && !this.byValue.has(l.value)) this.byValue.set(l.value, name);
  }

  /** A copy of `value` with volatile parts replaced by placeholders. */
  generalize(value: unknown, key?: string, parentKey?: string): unknown {
    if (typeof value === 'string') return this.string(value, key, parentKey);
    if (typeof value === 'number') {
      if (key !== undefined && INT_KEYS.has(key) && Number.isInteger(value)) return '{{int}}';
      if ((key !== undefined && NUMBER_KEYS.has(key)) || (parentKey !== undefined && TIMING_CONTAINERS.has(parentKey))) return '{{number}}';
      return value;
    }
    if (Array.isArray(value)) return value.map((v) => this.generalize(v, key, parentKey));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.text(k, key), this.generalize(v, k, key)]));
    }
    return value;
  }

  private string(s: string, key?: string, parentKey?: string): string {
    if (UUID_RE.test(s)) return this.uuid(s, key, parentKey);
    if (TIME_RE.test(s)) return '{{time}}';
    if (key !== undefined && STRING_KEYS.has(key)) return '{{string}}';
    return this.text(s, key);
  }

  /** Volatile parts inside free text: paths, uuids, times, durations. */
  private text(s: string, key?: string): string {
    let out = s;
    for (const [re, rep] of this.pathRules) out = out.replace(re, rep);
    out = out.replace(EMBEDDED_UUID_RE, (u) => this.uuid(u, key));
    out = out.replace(EMBEDDED_TIME_RE, '{{time}}');
    for (const [re, rep] of TEXT_RULES) out = out.replace(re, rep);
    return out;
  }

  private uuid(u: string, key?: string, parentKey?: string): string {
    if (isDeterministicUuid(u) || this.opts.stable.has(u)) return u;
    const known = this.byValue.get(u);
    if (known) return `{{${known}}}`;
    const name = this.freshName(key === 'id' && parentKey ? `${parentKey}Id` : (key ?? 'value'));
    this.byValue.set(u, name);
    this.named.set(name, u);
    return `{{uuid:${name}}}`;
  }

  private freshName(hint: string): string {
    let base = hint.replace(/[^A-Za-z0-9_]/g, '') || 'value';
    if (/^\d/.test(base) || Object.prototype.hasOwnProperty.call(PLACEHOLDER_TYPES, base)) base = `v${base}`;
    let name = base;
    for (let n = 2; this.used.has(name); n++) name = `${base}${n}`;
    this.used.add(name);
    return name;
  }
}
