/**
 * `holdfast setup`: creates every repository the policy names that does not exist yet.
 * Repositories that receive copies are created after the ones they copy from and take
 * their chunker parameters, so the copies deduplicate. Existing repositories are left alone.
 */
import { openBackend } from '../backends/open.js';
import type { Policy } from '../policy/types.js';
import { type Env, repoRefFor } from './policy-context.js';
import { initRepo } from './repository-admin.js';
import type { RepoRef } from './session.js';

export interface SetupResult {
  repository: string;
  created: boolean;
  chunkerFrom?: string;
}

async function exists(ref: RepoRef): Promise<boolean> {
  const backend = openBackend(ref.url, ref.backend);
  try {
    await backend.stat({ type: 'config', name: '' });
    return true;
  } catch (err) {
    if (backend.isNotFound(err)) return false;
    throw err;
  } finally {
    await backend.close();
  }
}

/** For each replica, the repository it copies from (the first asset that copies into it). */
function copySources(policy: Policy): Map<string, string> {
  const from = new Map<string, string>();
  for (const a of Object.values(policy.assets)) {
    if (!a.backup) continue;
    for (const c of a.copies) if (!from.has(c)) from.set(c, a.repository);
  }
  return from;
}

export async function setupRepositories(policy: Policy, env: Env): Promise<SetupResult[]> {
  const from = copySources(policy);
  const names = Object.keys(policy.repositories);
  // Sources before replicas, so a replica can copy its source's chunker parameters.
  const ordered = [...names.filter((n) => !from.has(n)), ...names.filter((n) => from.has(n))];
  const out: SetupResult[] = [];
  for (const name of ordered) {
    const ref = repoRefFor(policy, name, env);
    if (await exists(ref)) {
      out.push({ repository: name, created: false });
      continue;
    }
    const source = from.get(name);
    await initRepo(ref, source ? repoRefFor(policy, source, env) : undefined);
    out.push({ repository: name, created: true, chunkerFrom: source });
  }
  return out;
}
