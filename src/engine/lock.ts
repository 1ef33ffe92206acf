/**
 * Repository locks as restic takes them (restic-format.md §10): any number of shared locks,
 * or one exclusive lock; written, re-checked after 200 ms, refreshed every 5 minutes.
 */
import * as os from 'node:os';
import { fail } from '../errors.js';
import { parseGoTime } from './gotime.js';
import { nowGoTime } from './keys.js';
import { decodeLock, encodeLock, type LockInfo } from './lockfile.js';
import type { Repository } from './repository.js';

export interface LockHandle {
  id: string;
  release(): Promise<void>;
}

const STALE_AFTER_MS = 30 * 60 * 1000;
const REFRESH_MS = 5 * 60 * 1000;

function lockAgeMs(l: LockInfo, nowMs: number): number {
  return nowMs - Number(parseGoTime(l.time) / 1_000_000n);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock is stale when older than 30 minutes, or held by a dead process on this host. */
export function isStale(l: LockInfo, nowMs = Date.now()): boolean {
  if (lockAgeMs(l, nowMs) > STALE_AFTER_MS) return true;
  return l.hostname === os.hostname() && !processExists(l.pid);
}

export function describeLock(l: LockInfo, nowMs = Date.now()): string {
  const mins = Math.max(0, Math.round(lockAgeMs(l, nowMs) / 60000));
  const kind = l.exclusive ? 'an exclusive' : 'a shared';
  const stale = isStale(l, nowMs) ? ', stale' : '';
  return `${kind} lock held by PID ${l.pid} on host "${l.hostname}" (user ${l.username || '?'}) since ${l.time} (${mins} min ago${stale})`;
}

export async function listLocks(repo: Repository): Promise<{ id: string; lock: LockInfo }[]> {
  const out: { id: string; lock: LockInfo }[] = [];
  for (const id of await repo.listIds('lock')) {
    try {
      out.push({ id, lock: decodeLock(await repo.loadFile('lock', id)) });
    } catch {
      // restic 0.14 ignores lock files it cannot read (e.g. removed while listing).
    }
  }
  return out;
}

function conflict(locks: { id: string; lock: LockInfo }[], exclusive: boolean, ownId?: string) {
  return locks.find((l) => l.id !== ownId && (exclusive || l.lock.exclusive));
}

function currentLock(exclusive: boolean): LockInfo {
  const info: LockInfo = {
    time: nowGoTime(),
    exclusive,
    hostname: os.hostname(),
    username: safeUser(),
    pid: process.pid,
  };
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  if (uid) info.uid = uid;
  if (gid) info.gid = gid;
  return info;
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return '';
  }
}

function lockedError(holder: LockInfo): never {
  return fail(
    'REPO_LOCKED',
    `repository is locked: ${describeLock(holder)}. Wait for it to finish; if that process is gone, run "holdfast unlock"`,
  );
}

export async function acquireLock(
  repo: Repository,
  exclusive: boolean,
  recheckMs = 200,
): Promise<LockHandle> {
  const before = conflict(await listLocks(repo), exclusive);
  if (before) lockedError(before.lock);
  let id = await repo.saveFile('lock', encodeLock(currentLock(exclusive)));
  await new Promise((r) => setTimeout(r, recheckMs));
  const after = conflict(await listLocks(repo), exclusive, id);
  if (after) {
    await repo.backend.remove({ type: 'lock', name: id }).catch(() => undefined);
    lockedError(after.lock);
  }
  let refreshing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    refreshing = (async () => {
      const old = id;
      id = await repo.saveFile('lock', encodeLock(currentLock(exclusive)));
      await repo.backend.remove({ type: 'lock', name: old }).catch(() => undefined);
    })().catch(() => undefined);
  }, REFRESH_MS);
  timer.unref();
  return {
    get id() {
      return id;
    },
    async release() {
      clearInterval(timer);
      await refreshing;
      await repo.backend.remove({ type: 'lock', name: id }).catch(() => undefined);
    },
  };
}

/** Runs `fn` while holding a lock, releasing it however `fn` ends. */
export async function withLock<T>(repo: Repository, exclusive: boolean, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(repo, exclusive);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
