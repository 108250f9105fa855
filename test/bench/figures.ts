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

/** The paths of `figures` that `section` lacks (or holds as something other than a number or boolean). */
export function missingFigures(section: unknown, figures: readonly string[]): string[] {
  return figures.filter((path) => {
    let v: unknown = section;
    for (const k of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    return !(typeof v === 'number' && Number.isFinite(v)) && typeof v !== 'boolean';
  });
}
