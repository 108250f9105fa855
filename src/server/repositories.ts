/** Repositories opened by this sidecar, one per root, kept open for the process's life. */
import { resolve } from 'node:path';
import { Repository } from '../repository/repository.js';

export class RepositoryTable {
  private readonly open_ = new Map<string, Repository>();

  open(root: string): Repository {
    const key = resolve(root);
    let repo = this.open_.get(key);
    if (!repo) {
      repo = Repository.open(key);
      this.open_.set(key, repo);
    }
    return repo;
  }

  create(root: string, config: unknown): Repository {
    const repo = Repository.create(root, config);
    this.open_.set(repo.root, repo);
    return repo;
  }

  closeAll(): void {
    for (const repo of this.open_.values()) repo.close();
    this.open_.clear();
  }
}
