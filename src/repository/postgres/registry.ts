/** The PostgreSQL registry (not yet in this build). */
import { RepositoryError } from '../../model/errors.js';
import type { Registry } from '../registry.js';

export class PgRegistry {
  static async open(_opts: { url: string; schema: string; create: boolean }): Promise<Registry> {
    throw new RepositoryError('PostgreSQL registries are not available in this build.');
  }
}
