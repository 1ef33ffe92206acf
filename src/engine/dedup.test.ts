/**
 * Deduplication through the engine API: an unchanged second backup stores no new pack, and
 * an insertion near the start of a large file adds only the chunks around it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { localBackend } from '../backends/local.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { backupPaths } from './archiver.js';
import { initRepository, openRepository, type Repository } from './repository.js';
import { findSnapshot } from './snapshots.js';

const PW = Buffer.from('dedup');
const CHEAP_KDF = { N: 1024, r: 8, p: 1 };

async function reopen(dir: string): Promise<Repository> {
  const repo = await openRepository(localBackend(dir), PW);
  await repo.loadIndex();
  return repo;
}

function countPacks(repoDir: string): number {
  return fs
    .readdirSync(path.join(repoDir, 'data'))
    .reduce((n, d) => n + fs.readdirSync(path.join(repoDir, 'data', d)).length, 0);
}

describe('deduplication', () => {
  let tmp: string;
  let repoDir: string;
  before(async () => {
    tmp = makeTempDir('dedup');
    repoDir = path.join(tmp, 'repo');
    await initRepository(localBackend(repoDir), PW, { scrypt: CHEAP_KDF });
  });
  after(() => removeDir(tmp));

  test('a second backup of unchanged data adds no data pack and reuses the parent', async () => {
    const src = path.join(tmp, 'src');
    fs.mkdirSync(path.join(src, 'd'), { recursive: true });
    fs.writeFileSync(path.join(src, 'a.bin'), pseudoRandomBytes(3_000_000, 1));
    fs.writeFileSync(path.join(src, 'd', 'b.txt'), 'small file');
    const first = await backupPaths(await reopen(repoDir), [src], { hostname: 'h' });
    assert.equal(first.counters.filesNew, 2);
    const packsBefore = countPacks(repoDir);

    const repo = await reopen(repoDir);
    const parent = await findSnapshot(repo, 'latest');
    const second = await backupPaths(repo, [src], { hostname: 'h', parent });
    assert.equal(second.counters.filesUnmodified, 2);
    assert.equal(second.counters.bytesRead, 0, 'unchanged files are not read again');
    assert.equal(repo.stats.blobsAdded, 0);
    assert.equal(countPacks(repoDir), packsBefore);
    assert.equal(second.snapshot.tree, first.snapshot.tree);

    // Without a parent every file is read again, and still nothing new is stored.
    const repo3 = await reopen(repoDir);
    const third = await backupPaths(repo3, [src], { hostname: 'h' });
    assert.ok(third.counters.bytesRead >= 3_000_000);
    assert.equal(repo3.stats.blobsAdded, 0);
    assert.equal(countPacks(repoDir), packsBefore);
  });

  test('a 100 MB file with 10 bytes inserted near its start adds less than 10% new data', async () => {
    const src = path.join(tmp, 'big');
    fs.mkdirSync(src);
    const original = pseudoRandomBytes(100 * 1000 * 1000, 42);
    const file = path.join(src, 'big.bin');
    fs.writeFileSync(file, original);
    const repo1 = await reopen(repoDir);
    await backupPaths(repo1, [src], { hostname: 'h' });
    assert.ok(repo1.stats.dataAdded >= 100_000_000);

    fs.writeFileSync(
      file,
      Buffer.concat([original.subarray(0, 1000), Buffer.from('0123456789'), original.subarray(1000)]),
    );
    const repo2 = await reopen(repoDir);
    await backupPaths(repo2, [src], { hostname: 'h', parent: await findSnapshot(repo2, 'latest') });
    assert.ok(repo2.stats.dataAdded > 0, 'the changed chunk is stored');
    assert.ok(
      repo2.stats.dataAdded < 10_000_000,
      `added ${repo2.stats.dataAdded} bytes, expected < 10% of 100 MB`,
    );
  });
});
