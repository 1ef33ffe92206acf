/**
 * Opening a repository for a use case: backend from URL, password from its source, index
 * loaded when needed, and the lock held for the duration of the work.
 */
import type { Backend } from '../backends/backend.js';
import { openBackend } from '../backends/open.js';
import type { BackendOptions } from '../backends/options.js';
import { withLock } from '../engine/lock.js';
import { openRepository, type Repository, type RepositoryOptions } from '../engine/repository.js';
import { type PasswordSource, readPassword } from './credentials.js';

export interface RepoRef {
  url: string;
  password: PasswordSource;
  options?: RepositoryOptions;
  /** Retries, limits, append-only, per-backend settings (defaults when absent). */
  backend?: BackendOptions;
}

export type LockMode = 'none' | 'shared' | 'exclusive';

export async function openRepo(
  ref: RepoRef,
  backend: Backend = openBackend(ref.url, ref.backend),
): Promise<Repository> {
  return openRepository(backend, await readPassword(ref.password), ref.options);
}

/** Opens the repository, takes the lock, loads the index if asked, runs `fn`, closes. */
export async function withRepo<T>(
  ref: RepoRef,
  lock: LockMode,
  loadIndex: boolean,
  fn: (repo: Repository) => Promise<T>,
): Promise<T> {
  const repo = await openRepo(ref);
  try {
    const work = async () => {
      if (loadIndex) await repo.loadIndex();
      return fn(repo);
    };
    return lock === 'none' ? await work() : await withLock(repo, lock === 'exclusive', work);
  } finally {
    await repo.backend.close();
  }
}
