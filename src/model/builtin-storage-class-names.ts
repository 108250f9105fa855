/**
 * The built-in storage classes' names, sorted as a registry lists them: what `initialize`
 * reports. Written out so that answering it builds no storage class (the start-up bundle,
 * src/cli/startup.ts, holds none); test/model/builtin-storage-class-names.test.ts keeps it
 * equal to BUILTIN_STORAGE_CLASSES.
 */
export const BUILTIN_STORAGE_CLASS_NAMES: readonly string[] = [
  'ApCorr', 'ArrowAstropy', 'ArrowColumnList', 'ArrowTable', 'ButlerLogRecords', 'Bytes', 'CoaddInputs', 'Config',
  'DataFrame', 'DataFrameIndex', 'Detector', 'Exposure', 'ExposureF', 'ExposureSummaryStats', 'FilterLabel', 'Image',
  'ImageF', 'Json', 'Mask', 'MaskX', 'Packages', 'PhotoCalib', 'Polygon', 'PropertyList', 'Psf', 'StructuredDataDict',
  'StructuredDataList', 'Table', 'TaskMetadata', 'Text', 'TransmissionCurve', 'VisitInfo', 'Wcs', 'int',
];
