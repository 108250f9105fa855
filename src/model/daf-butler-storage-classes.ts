/**
 * Built-in storage classes named and shaped after daf_butler's (its
 * `configs/storageClasses.yaml`), so quanta that pipelines build resolve without extra
 * configuration. Values are JSON stand-ins for the Python objects:
 *
 * - `Exposure` / `ExposureF`: a `dict` whose keys are daf_butler's read/write components
 *   (image, mask, variance, wcs, psf, photoCalib, visitInfo, apCorrMap, coaddInputs,
 *   transmissionCurve, metadata, filter, detector, validPolygon, summaryStats), each an
 *   opaque JSON value of the component's storage class. The `id` component (a Python int)
 *   and the derived bbox/dimensions/xy0 (computed from pixels) are left out.
 * - `ArrowAstropy`, `ArrowTable`, `DataFrame`: columnar `table`s converting into one another
 *   and from `Table`; derived `columns` (the column names) and `rowcount`; the `columns`
 *   read parameter. daf_butler's `schema` component and `filters` parameter are left out.
 * - `TaskMetadata` (dict), `ButlerLogRecords` (list), `Packages` (dict), `Config` (text).
 */
import type { DerivedComponent, StorageClass } from './storage-class.js';
import type { StorageClassKind } from './storage-kinds.js';
import { tableColumnNames, tableRowCount, type TableValue } from './storage-kinds.js';

function sc(name: string, kind: StorageClassKind, more: Partial<Omit<StorageClass, 'name' | 'kind'>> = {}): StorageClass {
  return Object.freeze({
    name,
    kind,
    components: Object.freeze({ ...more.components }),
    derivedComponents: Object.freeze({ ...more.derivedComponents }),
    parameters: Object.freeze([...(more.parameters ?? [])]),
    converters: Object.freeze([...(more.converters ?? [])]),
    ...(more.inheritsFrom ? { inheritsFrom: more.inheritsFrom } : {}),
  });
}

/** Components of daf_butler's Exposure, with their storage classes (ExposureF overrides the pixel planes). */
const EXPOSURE_COMPONENTS: Record<string, string> = {
  image: 'Image',
  mask: 'Mask',
  variance: 'Image',
  wcs: 'Wcs',
  psf: 'Psf',
  photoCalib: 'PhotoCalib',
  visitInfo: 'VisitInfo',
  apCorrMap: 'ApCorr',
  coaddInputs: 'CoaddInputs',
  transmissionCurve: 'TransmissionCurve',
  metadata: 'PropertyList',
  filter: 'FilterLabel',
  detector: 'Detector',
  validPolygon: 'Polygon',
  summaryStats: 'ExposureSummaryStats',
};

/** The opaque component classes (any JSON value stands for the Python object). */
const OPAQUE = [...new Set([...Object.values(EXPOSURE_COMPONENTS), 'ImageF', 'MaskX'])].sort();

const TABLES = ['ArrowAstropy', 'ArrowTable', 'DataFrame'];

function tableClass(name: string, columnsClass: string): StorageClass {
  const columns: DerivedComponent = { storageClass: columnsClass, compute: (v) => tableColumnNames(v as TableValue) };
  const rowcount: DerivedComponent = { storageClass: 'int', compute: (v) => tableRowCount(v as TableValue) };
  return sc(name, 'table', {
    derivedComponents: { columns, rowcount },
    parameters: ['columns'],
    converters: [...TABLES.filter((t) => t !== name), 'Table'],
  });
}

export const DAF_BUTLER_STORAGE_CLASSES: readonly StorageClass[] = Object.freeze([
  ...OPAQUE.map((n) => sc(n, 'json')),
  sc('Exposure', 'dict', { components: EXPOSURE_COMPONENTS }),
  sc('ExposureF', 'dict', { inheritsFrom: 'Exposure', components: { ...EXPOSURE_COMPONENTS, image: 'ImageF', mask: 'MaskX', variance: 'ImageF' } }),
  sc('int', 'json'),
  sc('ArrowColumnList', 'list'),
  sc('DataFrameIndex', 'list'),
  tableClass('ArrowAstropy', 'ArrowColumnList'),
  tableClass('ArrowTable', 'ArrowColumnList'),
  tableClass('DataFrame', 'DataFrameIndex'),
  sc('TaskMetadata', 'dict', { converters: ['StructuredDataDict'] }),
  sc('ButlerLogRecords', 'list'),
  sc('Packages', 'dict'),
  sc('Config', 'text'),
]);
