/**
 * Small dimension universes of our own for tests: a daf_butler dimensions config (JSON) as a
 * host would send it, with dimensions that daf_butler's default universe does not have.
 */

/** `test_cam@1`: a governor `camera` and an int-keyed `chip` that requires it. */
export const CAMERA_CHIP_DIMENSIONS = {
  namespace: 'test_cam',
  version: 1,
  skypix: { common: 'htm1', htm: { class: 'lsst.sphgeom.HtmPixelization', max_level: 1 } },
  elements: {
    camera: { keys: [{ name: 'name', type: 'string' }], governor: true },
    chip: { keys: [{ name: 'id', type: 'int' }], requires: ['camera'] },
  },
};
