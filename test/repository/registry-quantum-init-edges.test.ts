/**
 * Registry.insertQuantum keeps an input edge's init-input flag (an init input, such as a
 * task's configuration, read once per task), on every registry backend.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/repository/registry.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { testBackends } from '../support/registries.js';

describe.each(testBackends())('Registry: init-input edges ($kind)', (backend) => {
  let reg: Registry;
  beforeEach(async () => {
    reg = await backend.fresh();
  });
  afterEach(async () => {
    await backend.dispose(reg);
  });

  it('an input edge given as an init input is stored as one; one given without the flag is not', async () => {
    const edge = (name: string) => ({ datasetId: makeDatasetId('UNIQUE', name, {}, [], 'r'), datasetType: name, run: 'r', dataId: {}, predicted: true, available: true, actual: true });
    const init = { ...edge('config'), initInput: true };
    const plain = edge('raw');
    await reg.insertQuantum({ id: 'q-init', taskName: 'pkg.Task', dataId: null, format: 'daf_butler', provenance: {}, inputs: [init, plain], outputs: [] });
    const got = (await reg.getQuantum('q-init'))!;
    const flags = Object.fromEntries(got.inputs.map((e) => [e.datasetId, e.initInput]));
    expect(flags).toEqual({ [init.datasetId]: true, [plain.datasetId]: false });
  });
});
