/**
 * Run-time values from a loaded policy: a key's password source and a repository's URL
 * with `${ENV}` references resolved from the environment the caller passes in, and
 * relative paths made absolute against the policy file's directory. The password source
 * has the same shape as app/credentials.ts's PasswordSource.
 */
import * as path from 'node:path';
import { fail } from '../errors.js';
import { repositoryUrlFrom } from './resolve.js';
import { resolveSecretRef } from './secret-ref.js';
import type { Policy } from './types.js';

export type Env = Readonly<Record<string, string | undefined>>;

export type KeyPasswordSource = { file: string } | { command: string } | { value: string };

export function keyPasswordSource(policy: Policy, keyName: string, env: Env): KeyPasswordSource {
  const key = policy.keys[keyName];
  if (!key) return fail('INVALID_POLICY', `there is no key named "${keyName}" in ${policy.file}`);
  const where = `keys.${keyName}`;
  if (key.passwordFile !== undefined)
    return {
      file: path.resolve(policy.dir, resolveSecretRef(key.passwordFile, env, `${where}.passwordFile`)),
    };
  if (key.passwordCommand !== undefined) return { command: key.passwordCommand };
  if (key.password !== undefined) return { value: resolveSecretRef(key.password, env, `${where}.password`) };
  return fail('INVALID_POLICY', `key "${keyName}" has no secret source`);
}

/** The repository's URL with references resolved; a local path is absolute. */
export function repositoryUrl(policy: Policy, repoName: string, env: Env): string {
  const repo = policy.repositories[repoName];
  if (!repo) return fail('INVALID_POLICY', `there is no repository named "${repoName}" in ${policy.file}`);
  return repositoryUrlFrom(policy.dir, resolveSecretRef(repo.url, env, `repositories.${repoName}.url`));
}
