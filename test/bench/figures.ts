/**
 * The figures each bench section must report (dotted paths into its JSON). The runner
 * checks them before writing bench-results/bench.json, and a test runs the repository and
 * registry sections on a small workload and checks them too.
 */
export const REPOSITORY_FIGURES = [
  'collect.seconds',
  'collect.datasetsPerSecond',
  'collect.withinTarget',
  'collect.checkpointSeconds',
  'collect.ceilingSeconds',
  'collect.ratioToCeiling',
  'rerun10k.seconds',
  'dryRun10k.seconds',
  'lineage.upFullChainMs',
  'lineage.downFullChainMs',
  'lineage.upDepth2MeanMs',
  'collectDafButler.seconds',
] as const;

export const REGISTRY_FIGURES = [
  'collect.seconds',
  'collect.datasetsPerSecond',
  'collect.withinTarget',
  'collect.ceilingSeconds',
  'collect.ratioToCeiling',
  'concurrent.seconds',
  'concurrent.datasetsPerSecond',
  'concurrent.collectors',
  'lineage.upFullChainMs',
  'lineage.withinTarget',
] as const;

/** The informational 16 MiB rows' store: a repository created with blake2b record checksums (the default is none). */
export const BLAKE2B_RECORDS = 'file datastore, blake2b records';

/** Small calls: each with the default event streams, with our Node and our Python client, one at a time and 64 in flight. */
const SMALL_CALLS = ['stored', 'get', 'put'].flatMap((call) =>
  ['node', 'python'].flatMap((client) => ['sequential', '64 in flight'].map((mode) => `${client} butler/${call} ${mode}`)),
);

export const SIDECAR_FIGURES = [
  ...SMALL_CALLS.flatMap((row) => [`${row}.value`, `${row}.ceiling`, `${row}.ratioToCeiling`]),
  'eventCostSequential',
  'eventCost64InFlight',
  'pythonEventCostSequential',
  'pythonEventCost64InFlight',
  // Beside each event cost, the A/A check measured the same way: its resolution.
  'eventCostAASequential',
  'eventCostAA64InFlight',
  'pythonEventCostAASequential',
  'pythonEventCostAA64InFlight',
  // The event cost in CPU time and its A/A, and the sidecar's CPU per call with and without events (from /proc: Linux only).
  ...(process.platform === 'linux'
    ? [
        ...['eventCostCpu', 'eventCostCpuAA'].flatMap((f) => ['sequential', '64 in flight'].map((mode) => `${f}.${mode}.median`)),
        ...['stored', 'stored, no event stream'].map((call) => `sidecarCpuMicrosPerCall.${call}.sequential`),
      ]
    : []),
  'provenanceEventsPerCall',
  'pythonProvenanceEventsPerCall',
  ...[
    'put 16 MiB file path',
    'get 16 MiB file path',
    'put 16 MiB file path (vs read+SHA-256)',
    'put 16 MiB file path, file datastore',
    'get 16 MiB file path, file datastore',
    // Informational, not targets: a file datastore whose records carry blake2b.
    `put 16 MiB file path, ${BLAKE2B_RECORDS}`,
    `get 16 MiB file path, ${BLAKE2B_RECORDS}`,
    'put 16 MiB base64',
    'get 16 MiB base64',
  ].flatMap((row) => [`${row}.value`, `${row}.ceiling`]),
  // The page cache before the 16 MiB rows, and the wait for its writeback (from /proc/meminfo: Linux only).
  ...(process.platform === 'linux' ? ['dirtyKiB', 'writebackKiB', 'synced', 'waitedMs', 'afterKiB', 'timedOut'].map((f) => `pageCacheWait.${f}`) : []),
] as const;

export const STARTUP_FIGURES = [
  'initializeMs',
  'initializeNoCodeCacheMs',
  'nodeBareMs',
  'overheadMs',
  'initializeInheritedEnvMs',
  'nodeBareInheritedEnvMs',
  'extraCaCertsSet',
] as const;

/** Per size N: put and get inline, base64 and JSON, against 2N + 64 MiB. */
export function memoryFigures(mib: readonly number[]): string[] {
  return mib.flatMap((m) =>
    ['put', 'get'].flatMap((op) => ['base64', 'json'].flatMap((enc) => ['peakOverBaseMiB', 'boundMiB', 'ratioToBound'].map((f) => `transfers.${op} ${enc} N=${m} MiB.${f}`))),
  );
}

/** The paths of `figures` that `section` lacks (or holds as something other than a number or boolean). */
export function missingFigures(section: unknown, figures: readonly string[]): string[] {
  return figures.filter((path) => {
    let v: unknown = section;
    for (const k of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    return !(typeof v === 'number' && Number.isFinite(v)) && typeof v !== 'boolean';
  });
}

/**
 * bench.json's `machine` (machine-profile.ts): on every platform, and on Linux also the pipe
 * timings and the kernel's vm dirty settings; on x86 also the CPU's family and model numbers.
 * The CPU's model name is a string: the test checks it apart.
 */
export const MACHINE_FIGURES = [
  'cpus',
  'cpuMHz',
  'availableParallelism',
  'sha256MBPerSec',
  'syscallNs',
  'clockReadNs',
  'firstTouchNsPer4KiB',
  'pageFaultNsPer4KiB',
  ...(process.platform === 'linux'
    ? ['pipeWriteReadNs', 'pipeRoundTripNs', ...['background_bytes', 'background_ratio', 'bytes', 'ratio', 'expire_centisecs', 'writeback_centisecs'].map((k) => `vmDirty.${k}`)]
    : []),
  ...(process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'ia32') ? ['cpuFamily', 'cpuModelNumber'] : []),
] as const;
