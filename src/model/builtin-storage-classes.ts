/**
 * The built-in storage classes every registry starts with.
 *
 * | name               | kind  | parameters        | derived components            | converts from              |
 * |--------------------|-------|-------------------|-------------------------------|----------------------------|
 * | StructuredDataDict | dict  |                   |                               | Json (object values)       |
 * | StructuredDataList | list  | slice             |                               | Table, Json (array values) |
 * | Text               | text  | slice             |                               | Bytes (UTF-8)              |
 * | Bytes              | bytes | start, end        |                               | Text (UTF-8)               |
 * | Table              | table | columns, rows     | columnNames, rowCount         | StructuredDataList         |
 * | Json               | json  |                   |                               | StructuredDataDict, StructuredDataList |
 *
 * plus daf_butler's own classes (ExposureF with its components, ArrowAstropy/DataFrame,
 * TaskMetadata, ...): see daf-butler-storage-classes.ts.
 */
import type { StorageClass, DerivedComponent } from './storage-class.js';
import { tableColumnNames, tableRowCount, type TableValue } from './storage-kinds.js';
import { DAF_BUTLER_STORAGE_CLASSES } from './daf-butler-storage-classes.js';

export const STRUCTURED_DATA_DICT = 'StructuredDataDict';
export const STRUCTURED_DATA_LIST = 'StructuredDataList';
export const TEXT = 'Text';
export const BYTES = 'Bytes';
export const TABLE = 'Table';
export const JSON_SC = 'Json';

const columnNames: DerivedComponent = Object.freeze({
  storageClass: STRUCTURED_DATA_LIST,
  compute: (value: unknown) => tableColumnNames(value as TableValue),
});

const rowCount: DerivedComponent = Object.freeze({
  storageClass: JSON_SC,
  compute: (value: unknown) => tableRowCount(value as TableValue),
});

function sc(def: StorageClass): StorageClass {
  return Object.freeze({
    ...def,
    components: Object.freeze({ ...def.components }),
    derivedComponents: Object.freeze({ ...def.derivedComponents }),
    parameters: Object.freeze([...def.parameters]),
    converters: Object.freeze([...def.converters]),
  });
}

export const BUILTIN_STORAGE_CLASSES: readonly StorageClass[] = Object.freeze([
  sc({ name: STRUCTURED_DATA_DICT, kind: 'dict', components: {}, derivedComponents: {}, parameters: [], converters: [JSON_SC] }),
  sc({
    name: STRUCTURED_DATA_LIST,
    kind: 'list',
    components: {},
    derivedComponents: {},
    parameters: ['slice'],
    converters: [TABLE, JSON_SC],
  }),
  sc({ name: TEXT, kind: 'text', components: {}, derivedComponents: {}, parameters: ['slice'], converters: [BYTES] }),
  sc({ name: BYTES, kind: 'bytes', components: {}, derivedComponents: {}, parameters: ['start', 'end'], converters: [TEXT] }),
  sc({
    name: TABLE,
    kind: 'table',
    components: {},
    derivedComponents: { columnNames, rowCount },
    parameters: ['columns', 'rows'],
    converters: [STRUCTURED_DATA_LIST],
  }),
  sc({
    name: JSON_SC,
    kind: 'json',
    components: {},
    derivedComponents: {},
    parameters: [],
    converters: [STRUCTURED_DATA_DICT, STRUCTURED_DATA_LIST],
  }),
  ...DAF_BUTLER_STORAGE_CLASSES,
]);

export const BUILTIN_STORAGE_CLASS_NAMES: readonly string[] = BUILTIN_STORAGE_CLASSES.map((s) => s.name);
