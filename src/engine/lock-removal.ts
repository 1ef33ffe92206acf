/**
 * Removing repository locks (restic `unlock`): the stale ones (older than 30 minutes, or held
 * by a process on this host that no longer exists), or every lock file with `all`.
 */
import { isStale, listLocks } from './lock.js';
import { decodeLock, type LockInfo } from './lockfile.js';
import type { Repository } from './repository.js';

export interface RemovedLock {
  id: string;
  /** Undefined when the lock file could not be read (only removed with `all`). */
  lock?: LockInfo;
}

export async function removeLocks(
  repo: Repository,
  opts: { all?: boolean; nowMs?: number } = {},
): Promise<RemovedLock[]> {
  let victims: RemovedLock[];
  if (opts.all) {
    victims = [];
    for (const id of await repo.listIds('lock')) {
      let lock: LockInfo | undefined;
      try {
        lock = decodeLock(await repo.loadFile('lock', id));
      } catch {
        lock = undefined; // unreadable lock files are removed too
      }
      victims.push({ id, lock });
    }
  } else {
    victims = (await listLocks(repo)).filter((l) => isStale(l.lock, opts.nowMs));
  }
  const removed: RemovedLock[] = [];
  for (const v of victims) {
    try {
      await repo.backend.remove({ type: 'lock', name: v.id });
      removed.push(v);
    } catch (err) {
      if (!repo.backend.isNotFound(err)) throw err; // already gone: its holder released it
    }
  }
  return removed;
}
