/** Creating a repository, optionally with the chunker parameters of another one. */
import { openBackend } from '../backends/open.js';
import { initRepository, type RepoConfig } from '../engine/repository.js';
import type { ScryptParams } from '../engine/crypto.js';
import { readPassword } from './credentials.js';
import { openRepo, type RepoRef } from './session.js';

export async function initRepo(
  ref: RepoRef,
  copyChunkerFrom?: RepoRef,
  scrypt?: ScryptParams,
): Promise<RepoConfig> {
  let chunkerPolynomial: bigint | undefined;
  if (copyChunkerFrom) {
    const other = await openRepo(copyChunkerFrom);
    chunkerPolynomial = other.config.chunkerPolynomial;
    await other.backend.close();
  }
  const backend = openBackend(ref.url, ref.backend);
  try {
    const repo = await initRepository(backend, await readPassword(ref.password), {
      chunkerPolynomial,
      scrypt,
    });
    return repo.config;
  } finally {
    await backend.close();
  }
}
