/**
 * Repositories opened by this sidecar, one per root, kept open for the process's life. The
 * repository layer (registries, better-sqlite3) is imported on first use: a sidecar that never
 * opens a repository does not pay for loading it at start.
 */
import { resolve } from 'node:path';
import type { Repository, RegistrySpec } from '../repository/repository.js';

const repositoryModule = () => import('../repository/repository.js');

export class RepositoryTable {
  private readonly open_ = new Map<string, Promise<Repository>>();

  /** `registryUrl`: `--registry-url`, the server URL for every PostgreSQL registry this process opens. */
  constructor(private readonly registryUrl?: string) {}

  /** The repository at `root`, opened once (concurrent calls share the opening). */
  open(root: string): Promise<Repository> {
    const key = resolve(root);
    let repo = this.open_.get(key);
    if (!repo) {
      repo = repositoryModule().then(({ Repository }) => Repository.open(key, this.options()));
      this.open_.set(key, repo);
      // A failed open (server down, say) is not remembered: the next call tries again.
      repo.catch(() => this.open_.delete(key));
    }
    return repo;
  }

  async create(root: string, config: unknown, registry?: RegistrySpec): Promise<Repository> {
    const { Repository } = await repositoryModule();
    const repo = await Repository.create(root, config, registry, this.options());
    this.open_.set(repo.root, Promise.resolve(repo));
    return repo;
  }

  /** Close the repository at `root` if this process has it open (it is opened again on next use). */
  async release(root: string): Promise<void> {
    const key = resolve(root);
    const repo = this.open_.get(key);
    this.open_.delete(key);
    await (await repo?.catch(() => undefined))?.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.open_.values()];
    this.open_.clear();
    for (const p of all) {
      const repo = await p.catch(() => undefined);
      await repo?.close();
    }
  }

  private options(): { registryUrl?: string } {
    return this.registryUrl !== undefined ? { registryUrl: this.registryUrl } : {};
  }
}
