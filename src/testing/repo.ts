/**
 * Test repositories built through the engine with a cheap key derivation: a repository with
 * a few snapshots of a changing directory, each pack kept small so that there are many.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { localBackend } from '../backends/local.js';
import { backupPaths } from '../engine/archiver.js';
import { initRepository, openRepository, type Repository } from '../engine/repository.js';
import { pseudoRandomBytes } from './fixtures.js';

export const CHEAP_KDF = { N: 1024, r: 8, p: 1 };

export async function openTestRepo(dir: string, password: string): Promise<Repository> {
  return openRepository(localBackend(dir), Buffer.from(password), { packSize: 1 << 20 });
}

/**
 * Creates a repository at `repoDir` holding `generations` snapshots of `srcDir`; between
 * snapshots one file changes, one is added and one removed. Returns the snapshot IDs, oldest first.
 */
export async function makeRepoWithHistory(
  repoDir: string,
  srcDir: string,
  password: string,
  generations = 3,
): Promise<string[]> {
  await initRepository(localBackend(repoDir), Buffer.from(password), { scrypt: CHEAP_KDF });
  fs.mkdirSync(path.join(srcDir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(srcDir, 'sub', 'stable.bin'), pseudoRandomBytes(1_500_000, 1));
  fs.writeFileSync(path.join(srcDir, 'notes.txt'), 'first notes\n');
  const ids: string[] = [];
  for (let g = 0; g < generations; g++) {
    fs.writeFileSync(path.join(srcDir, `gen-${g}.bin`), pseudoRandomBytes(700_000 + g, 100 + g));
    if (g > 0) fs.rmSync(path.join(srcDir, `gen-${g - 1}.bin`));
    fs.appendFileSync(path.join(srcDir, 'notes.txt'), `generation ${g}\n`);
    const repo = await openTestRepo(repoDir, password);
    await repo.loadIndex();
    ids.push((await backupPaths(repo, [srcDir], { hostname: 'test-host' })).snapshotId);
  }
  return ids;
}
