/** butler/dimensions: the session's dimension universe, described for the wire. */
import { Dimensions } from '../../../protocol/dimensions.js';
import { trimDimensionConfig } from '../../model/dimensions/dimension-config.js';
import type { DimensionUniverse } from '../../model/dimensions/dimension-universe.js';
import type { Server } from '../server.js';

function describeUniverse(universe: DimensionUniverse, withConfig: boolean) {
  return {
    namespace: universe.namespace,
    version: universe.version,
    commonSkyPix: universe.commonSkyPix,
    elements: universe.elements.map((e) => ({
      name: e.name,
      kind: e.kind,
      required: [...e.required],
      implied: [...e.implied],
      keyType: e.primaryKey?.type ?? null,
      governor: e.governor,
    })),
    ...(withConfig ? { config: trimDimensionConfig(universe.config) } : {}),
  };
}

export function registerDimensions(server: Server): void {
  server.handleSession(Dimensions, (p, _ctx, s) => describeUniverse(s.butler.dimensions, p.config));
}
