/** Removing stale locks, or all locks, from a repository (restic `unlock`); takes no lock itself. */
import { type RemovedLock, removeLocks } from '../engine/lock-removal.js';
import { type RepoRef, withRepo } from './session.js';

export function unlockRepo(ref: RepoRef, removeAll: boolean): Promise<RemovedLock[]> {
  return withRepo(ref, 'none', false, (repo) => removeLocks(repo, { all: removeAll }));
}
