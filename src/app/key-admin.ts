/**
 * Managing the passwords of a repository (restic `key`): list the key files, add one that
 * wraps the same master key, remove one (never the one in use), and change the password
 * (add the new key, check that it opens, remove the current one). Locks as restic 0.14:
 * shared for list and add, exclusive for remove and passwd.
 */
import { calibrateScrypt } from '../engine/crypto.js';
import { addKey, type KeyOwner, listKeys, openWithPassword, removeKey } from '../engine/keys.js';
import type { Repository } from '../engine/repository.js';
import { fail } from '../errors.js';
import { type PasswordSource, readPassword } from './credentials.js';
import { type RepoRef, withRepo } from './session.js';

export interface KeySummary {
  id: string;
  current: boolean;
  username: string;
  hostname: string;
  /** RFC 3339 time as stored in the key file. */
  created: string;
}

export function listRepoKeys(ref: RepoRef): Promise<KeySummary[]> {
  return withRepo(ref, 'shared', false, async (repo) =>
    (await listKeys(repo.backend)).map(({ id, file }) => ({
      id,
      current: id === repo.keyId,
      username: file.username ?? '',
      hostname: file.hostname ?? '',
      created: file.created ?? '',
    })),
  );
}

/** Adds a key for `password`, then proves it opens the repository; a broken key is removed. */
async function addVerifiedKey(repo: Repository, password: Buffer, owner: KeyOwner): Promise<string> {
  const id = await addKey(repo.backend, repo.key, password, await calibrateScrypt(), owner);
  const opened = await openWithPassword(repo.backend, password, id).catch(() => undefined);
  if (opened?.keyId !== id || !opened.master.encrypt.equals(repo.key.encrypt)) {
    await repo.backend.remove({ type: 'key', name: id }).catch(() => undefined);
    fail('INTEGRITY', `the new key ${id.slice(0, 8)} does not open the repository; it was removed`);
  }
  return id;
}

export function addRepoKey(ref: RepoRef, newPassword: PasswordSource, owner: KeyOwner = {}): Promise<string> {
  return withRepo(ref, 'shared', false, async (repo) =>
    addVerifiedKey(repo, await readPassword(newPassword), owner),
  );
}

async function resolveKeyId(repo: Repository, prefix: string): Promise<string> {
  if (!/^[0-9a-f]{1,64}$/.test(prefix))
    fail('INVALID_ARGUMENT', `"${prefix}" is not a key ID (use hex digits)`);
  const ids = (await repo.listIds('key')).filter((id) => id.startsWith(prefix));
  if (ids.length === 0) fail('NOT_FOUND', `no key with ID ${prefix}: see "holdfast key list"`);
  if (ids.length > 1) fail('INVALID_ARGUMENT', `key ID prefix ${prefix} is ambiguous: give more characters`);
  return ids[0];
}

export function removeRepoKey(ref: RepoRef, idPrefix: string): Promise<string> {
  return withRepo(ref, 'exclusive', false, async (repo) => {
    const id = await resolveKeyId(repo, idPrefix);
    await removeKey(repo.backend, id, repo.keyId);
    return id;
  });
}

export function changeRepoPassword(
  ref: RepoRef,
  newPassword: PasswordSource,
): Promise<{ newId: string; removedId: string }> {
  return withRepo(ref, 'exclusive', false, async (repo) => {
    const newId = await addVerifiedKey(repo, await readPassword(newPassword), {});
    const removedId = repo.keyId;
    await repo.backend.remove({ type: 'key', name: removedId });
    return { newId, removedId };
  });
}
