import { describe, expect, it } from 'vitest';
import { BUILTIN_STORAGE_CLASSES } from '../../src/model/builtin-storage-classes.js';
import { BUILTIN_STORAGE_CLASS_NAMES } from '../../src/model/builtin-storage-class-names.js';

describe('BUILTIN_STORAGE_CLASS_NAMES', () => {
  it('is the built-in storage classes\' names, sorted', () => {
    expect(BUILTIN_STORAGE_CLASS_NAMES).toEqual(BUILTIN_STORAGE_CLASSES.map((sc) => sc.name).sort());
  });
});
