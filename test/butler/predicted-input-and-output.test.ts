/**
 * session/open's predictions (docs/protocol/sessions.md): a dataset predicted both as an input
 * and as an output is refused with InvalidArgument, whichever list names it first.
 */
import { describe, expect, it } from 'vitest';
import { openButler } from '../../src/butler/open-butler.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import { InvalidArgument } from '../../src/model/errors.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { MemoryStore } from '../../src/store/memory-store.js';

const DIMS = ['instrument', 'visit'];
const dataId = { instrument: 'dummy', visit: 1 };
const both = { id: makeDatasetId('DATAID_TYPE_RUN', 'metric', dataId, DIMS, 'run'), datasetType: makeDatasetType({ name: 'metric', storageClass: 'StructuredDataDict', dimensions: DIMS }), dataId, run: 'run' };

describe('a dataset predicted as input and output', () => {
  it('is refused at open', async () => {
    const reg = StorageClassRegistry.withBuiltins();
    const open = () =>
      openButler({
        sessionId: 's',
        predicted: { inputs: [both], outputs: [both] },
        strictDeferred: false,
        datastore: new MemoryDatastore('InMemoryDatastore@both', new MemoryStore(), reg),
        storageClasses: reg,
        universe: defaultUniverse(),
      });
    await expect(open()).rejects.toBeInstanceOf(InvalidArgument);
    await expect(open()).rejects.toThrow(/predicted both as an input and as an output/);
  });
});
