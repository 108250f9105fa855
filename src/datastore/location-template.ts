/**
 * File datastore location templates, e.g. `{run}/{datasetType}/{dataId}_{id}`.
 * Fields: run, datasetType (component types use the parent's name), id, dataId (all
 * data ID values as `name=value` joined by `_`), and any dimension by name. Every
 * expanded value is made path-safe, so a template can never escape the datastore root.
 * The formatter's extension is appended.
 */
import type { DatasetRef } from '../model/dataset-ref.js';
import { splitComponent } from '../model/dataset-type.js';
import { InvalidArgument } from '../model/errors.js';

export const DEFAULT_TEMPLATE = '{run}/{datasetType}/{dataId}_{id}';

const FIELD = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Characters kept as they are in a path segment; anything else becomes '_'. */
function safe(value: string): string {
  const s = value.replace(/[^A-Za-z0-9._=+-]/g, '_');
  return s === '' || s === '.' || s === '..' ? `_${s}` : s;
}

export function validateTemplate(template: string): void {
  if (!template.includes('{id}')) {
    throw new InvalidArgument(`Datastore template ${JSON.stringify(template)} must contain {id} so every dataset gets its own path.`);
  }
  if (template.startsWith('/') || template.split('/').some((seg) => seg === '' || seg === '..' || seg === '.')) {
    throw new InvalidArgument(`Datastore template ${JSON.stringify(template)} must be a relative path without empty, '.' or '..' segments.`);
  }
}

export function expandTemplate(template: string, ref: DatasetRef, extension: string): string {
  const path = template.replace(FIELD, (_m, field: string) => {
    switch (field) {
      case 'run':
        // Runs may be hierarchical (a/b): keep the slashes, sanitise each part.
        return ref.run.split('/').map(safe).join('/');
      case 'datasetType':
        return safe(splitComponent(ref.datasetType.name).parent);
      case 'id':
        return ref.id;
      case 'dataId':
        return safe(
          Object.entries(ref.dataId)
            .map(([k, v]) => `${k}=${v}`)
            .join('_') || 'none',
        );
      default: {
        const v = ref.dataId[field];
        if (v === undefined) return 'none';
        return safe(String(v));
      }
    }
  });
  return `${path}${extension}`;
}
