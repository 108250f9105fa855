/** Open a repository for one command and close it whatever happens. */
import { Repository } from '../repository/repository.js';

export async function withRepository<T>(root: string, registryUrl: string | undefined, fn: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await Repository.open(root, registryUrl !== undefined ? { registryUrl } : {});
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}
