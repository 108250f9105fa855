/**
 * The speed targets the sidecar is held to, read from one run's results: each with its
 * measured value, the target, and whether it is met. The runner prints them last and writes
 * them to bench.json as `targets`; a section that did not run leaves its targets out.
 */

export interface Target {
  /** What is measured, as the bench's rows name it. */
  name: string;
  value: number;
  /** The bound; `atLeast`: the value must reach it, else stay at or under it. */
  target: number;
  atLeast: boolean;
  unit: string;
  met: boolean;
  /** The same figure from an A/A check measured the same way (the event cost's): how finely the value resolves. */
  aa?: number;
}

type Results = Record<string, unknown>;

function at(results: Results, path: readonly string[]): number | undefined {
  let v: unknown = results;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Small calls: 0.8 of the echo's calls per second, with the default event streams. */
export const SMALL_CALL_RATIO = 0.8;
/** What the event stream may cost a call. */
export const EVENT_COST = 0.1;
export const FILE_PATH_MIB_PER_S = 1024;
export const COLLECT_SQLITE_SECONDS = 10;
export const STARTUP_MS = 120;

export function targetsOf(results: Results): Target[] {
  const out: Target[] = [];
  const add = (name: string, value: number | undefined, target: number, atLeast: boolean, unit: string, aa?: number): void => {
    if (value !== undefined) out.push({ name, value, target, atLeast, unit, met: atLeast ? value >= target : value <= target, ...(aa === undefined ? {} : { aa }) });
  };
  for (const client of ['node', 'python']) {
    for (const call of ['stored', 'get', 'put']) {
      for (const mode of ['sequential', '64 in flight']) {
        const row = `${client} butler/${call} ${mode}`;
        add(`${row}: calls/s over the echo's`, at(results, ['sidecar', row, 'ratioToCeiling']), SMALL_CALL_RATIO, true, 'x');
      }
    }
  }
  for (const [key, aa, name] of [
    ['eventCostSequential', 'eventCostAASequential', 'node: what the event stream costs a call, sequential'],
    ['eventCost64InFlight', 'eventCostAA64InFlight', 'node: what the event stream costs a call, 64 in flight'],
    ['pythonEventCostSequential', 'pythonEventCostAASequential', 'python: what the event stream costs a call, sequential'],
    ['pythonEventCost64InFlight', 'pythonEventCostAA64InFlight', 'python: what the event stream costs a call, 64 in flight'],
  ] as const) {
    add(name, at(results, ['sidecar', key]), EVENT_COST, false, '', at(results, ['sidecar', aa]));
  }
  for (const store of ['', ', file datastore']) {
    for (const dir of ['put', 'get']) {
      add(`${dir} 16 MiB by file path${store}`, at(results, ['sidecar', `${dir} 16 MiB file path${store}`, 'value']), FILE_PATH_MIB_PER_S, true, 'MiB/s');
    }
  }
  add('collect 100,000 quanta x 4 outputs into SQLite', at(results, ['repository', 'collect', 'seconds']), COLLECT_SQLITE_SECONDS, false, 's');
  add('spawn to the initialize answer, as our clients spawn', at(results, ['startup', 'initializeMs']), STARTUP_MS, false, 'ms');
  const transfers = (results['memory'] as { transfers?: Record<string, { ratioToBound?: number }> } | undefined)?.transfers ?? {};
  for (const [name, t] of Object.entries(transfers)) {
    add(`peak RSS of ${name}, over 2N + 64 MiB`, t.ratioToBound, 1, false, 'x');
  }
  return out;
}

export function formatTargets(targets: readonly Target[]): string[] {
  const lines = ['', `targets (${targets.filter((t) => t.met).length} of ${targets.length} met):`];
  for (const t of targets) {
    const digits = t.unit === 'x' || t.unit === '' ? 2 : t.unit === 's' ? 1 : 0;
    lines.push(`  ${t.met ? 'met    ' : 'NOT MET'}  ${t.name.padEnd(60)} ${t.value.toFixed(digits).padStart(8)} ${t.unit.padEnd(5)} target ${t.atLeast ? '>=' : '<='} ${t.target}${t.unit === 'x' || t.unit === '' ? '' : ` ${t.unit}`}${t.aa === undefined ? '' : ` (A/A check: ${t.aa.toFixed(digits)})`}`);
  }
  return lines;
}
