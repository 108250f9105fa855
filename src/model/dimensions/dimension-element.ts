/**
 * One element of a dimension universe, as daf_butler defines it: a dimension (a governor,
 * an ordinary dimension or a skypix level), identified by a primary key value in data IDs,
 * or a combination (a join relation such as `visit_detector_region`), which has no key.
 */
import type { ColumnConfig } from './dimension-config.js';

/** The type of a dimension's primary key value in a data ID. */
export type DimensionKeyType = 'int' | 'string';

export type DimensionElementKind = 'governor' | 'dimension' | 'skypix' | 'combination';

export interface DimensionElement {
  readonly name: string;
  readonly kind: DimensionElementKind;
  /**
   * daf_butler's `required`: the dimensions whose values identify a record, expanded
   * recursively, in the universe's order; a dimension lists itself (last).
   */
  readonly required: readonly string[];
  /** Dimensions a record identifies directly (not recursively), in the universe's order. */
  readonly implied: readonly string[];
  /** The primary key's column and type; null for a combination. */
  readonly primaryKey: { readonly name: string; readonly type: DimensionKeyType } | null;
  /** Further unique keys (e.g. detector's `full_name`), which data IDs never use. */
  readonly alternateKeys: readonly ColumnConfig[];
  readonly metadata: readonly ColumnConfig[];
  /** The governor dimension this element depends on (e.g. `instrument`), if exactly one. */
  readonly governor: string | null;
  readonly isCached: boolean;
  readonly impliedUnionTarget: string | null;
  readonly alwaysJoin: boolean;
  readonly populatedBy: string | null;
  /** Names of the spatial / temporal families the element belongs to, if any. */
  readonly spatial: string | null;
  readonly temporal: string | null;
}

/** True for the elements that data IDs name (everything but combinations). */
export function isDimension(element: DimensionElement): boolean {
  return element.kind !== 'combination';
}
