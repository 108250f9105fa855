import { describe, expect, it } from 'vitest';
import { InvalidArgument } from '../../src/model/errors.js';
import { recordColumns } from '../../src/repository/record-columns.js';

const ROW = { path: 'a/b.json', formatter: 'lsst.daf.butler.formatters.json.JsonFormatter', storage_class: 'StructuredDataDict', component: null, checksum: 'ab', file_size: 12 };

/** The error recordColumns throws for `row`, where given as a function that counts its calls. */
function failure(row: Record<string, unknown>): { error: InstanceType<typeof InvalidArgument>; whereCalls: number } {
  let whereCalls = 0;
  try {
    recordColumns(row, 'file_datastore_records', () => (whereCalls++, 'ds/id.file_datastore_records[0]'));
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgument);
    return { error: error as InstanceType<typeof InvalidArgument>, whereCalls };
  }
  throw new Error('no error');
}

describe('recordColumns', () => {
  it('splits a valid row into columns without asking where it is', () => {
    let whereCalls = 0;
    const cols = recordColumns({ ...ROW, extra_b: 2, extra_a: 'x' }, 'file_datastore_records', () => (whereCalls++, 'w'));
    expect(cols).toEqual({
      tableName: 'file_datastore_records',
      path: 'a/b.json',
      formatter: ROW.formatter,
      storageClass: 'StructuredDataDict',
      component: '__NULL_STRING__',
      checksum: 'ab',
      fileSize: 12,
      extra: '{"extra_a":"x","extra_b":2}',
    });
    expect(whereCalls).toBe(0);
    expect(recordColumns({ path: 'p', formatter: 'f', storage_class: 's' }, 't', 'w')).toMatchObject({ component: '__NULL_STRING__', checksum: null, fileSize: -1, extra: null });
  });

  it.each([
    [{ ...ROW, path: 42 }, "Datastore record ds/id.file_datastore_records[0]: field 'path' must be a string.", { field: 'path' }],
    [{ ...ROW, formatter: undefined }, "Datastore record ds/id.file_datastore_records[0]: field 'formatter' must be a string.", { field: 'formatter' }],
    [{ ...ROW, storage_class: null }, "Datastore record ds/id.file_datastore_records[0]: field 'storage_class' must be a string.", { field: 'storage_class' }],
    [{ ...ROW, component: 1 }, 'Datastore record ds/id.file_datastore_records[0]: component must be a string or null.', {}],
    [{ ...ROW, checksum: 1 }, 'Datastore record ds/id.file_datastore_records[0]: checksum must be a string or null.', {}],
    [{ ...ROW, file_size: 1.5 }, 'Datastore record ds/id.file_datastore_records[0]: file_size must be an integer or null.', {}],
    [{ ...ROW, other: true }, "Datastore record ds/id.file_datastore_records[0]: value of 'other' must be a string, an integer or null.", { field: 'other' }],
    // The checks run in this order: a row wrong in several ways fails on the first.
    [{ ...ROW, path: 1, component: 1 }, 'Datastore record ds/id.file_datastore_records[0]: component must be a string or null.', {}],
    [{ ...ROW, path: 1, other: true }, "Datastore record ds/id.file_datastore_records[0]: value of 'other' must be a string, an integer or null.", { field: 'other' }],
    [{ ...ROW, path: 1, formatter: 1 }, "Datastore record ds/id.file_datastore_records[0]: field 'path' must be a string.", { field: 'path' }],
  ])('refuses %j', (row, message, details) => {
    const { error, whereCalls } = failure(row);
    expect(error.message).toBe(message);
    expect(error.context.details).toEqual({ row, ...details });
    expect(whereCalls).toBe(1);
  });

  it('takes where as a string as well', () => {
    expect(() => recordColumns({ ...ROW, path: 1 }, 't', 'here')).toThrow("Datastore record here: field 'path' must be a string.");
  });
});
