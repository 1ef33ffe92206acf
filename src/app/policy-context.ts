/**
 * What use cases driven by holdfast.yaml share: the loaded policy, its catalog, and a
 * repository reference (URL and password source) for a repository named in the policy.
 * `${ENV}` references in keys and URLs are resolved here, at the moment they are needed.
 */
import { type Catalog, openCatalog } from '../catalog/catalog.js';
import { loadPolicy } from '../policy/load.js';
import { type Env, keyPasswordSource, repositoryUrl } from '../policy/runtime.js';
import type { Policy } from '../policy/types.js';
import type { RepoRef } from './session.js';

export type { Env };

export function catalogUrl(policy: Policy): string {
  return policy.catalog.kind === 'sqlite' ? `sqlite:${policy.catalog.path}` : policy.catalog.url;
}

export interface PolicyContext {
  policy: Policy;
  catalog: Catalog;
  env: Env;
}

export async function openPolicyContext(file: string, env: Env = process.env): Promise<PolicyContext> {
  const policy = await loadPolicy(file);
  const catalog = await openCatalog(catalogUrl(policy));
  return { policy, catalog, env };
}

/** URL and password of a repository of the policy, with its append-only and immutability settings. */
export function repoRefFor(policy: Policy, repoName: string, env: Env): RepoRef {
  const spec = policy.repositories[repoName];
  return {
    url: repositoryUrl(policy, repoName, env),
    password: keyPasswordSource(policy, spec.key, env),
    backend: {
      appendOnly: spec.appendOnly || undefined,
      // Object-lock retention on every file an S3 repository writes (other backends ignore it).
      s3: spec.immutableDays ? { immutable: { days: spec.immutableDays } } : undefined,
    },
  };
}
