/**
 * Regenerates the default dimension universe's data file from a daf_butler dimensions
 * config (its `python/lsst/daf/butler/configs/dimensions.yaml`) given as JSON:
 *
 *   python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' \
 *       dimensions.yaml > /tmp/dimensions.json
 *   npx tsc -p tsconfig.json && node dist/scripts/gen-universe.js /tmp/dimensions.json
 *
 * The config is validated by building a universe from it, trimmed (documentation, legacy
 * storage sections and packers dropped; see trimDimensionConfig) and written, identically,
 * to the two places that read it: src/model/dimensions/default-universe.json (the sidecar)
 * and clients/python/quantum_butler/default-universe.json (the Python client, which cannot
 * import TypeScript). Tests fail when the two copies differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDimensionConfig, trimDimensionConfig } from '../src/model/dimensions/dimension-config.js';
import { DimensionUniverse } from '../src/model/dimensions/dimension-universe.js';

const UNIVERSE_FILES = ['src/model/dimensions/default-universe.json', 'clients/python/quantum_butler/default-universe.json'];

const input = process.argv[2];
if (!input || process.argv.length > 3) {
  process.stderr.write('usage: node dist/scripts/gen-universe.js DAF_BUTLER_DIMENSIONS.json\n');
  process.exit(2);
}
const config = parseDimensionConfig(JSON.parse(readFileSync(input, 'utf8')));
const universe = new DimensionUniverse(config);
const text = JSON.stringify(trimDimensionConfig(config), null, 2) + '\n';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
for (const file of UNIVERSE_FILES) writeFileSync(join(root, file), text);
process.stderr.write(`${universe.label}: ${universe.elements.length} elements (${universe.dimensions.length} dimensions) written to ${UNIVERSE_FILES.join(', ')}\n`);
