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
import { loadTree } from './tree-io.js';

const PW = Buffer.from('dedup');
const CHEAP_KDF = { N: 1024, r: 8, p: 1 };

async function reopen(dir: string): Promise<Repository> {
  const repo = await openRepository(localBackend(dir), PW);
  await repo.loadIndex();
  return repo;
}

async function dataBlobCount(repoDir: string): Promise<number> {
  return (await reopen(repoDir)).index.data.size;
}

/**
 * The tree ID of directory `dir` in a snapshot. The snapshot's root also records the
 * temporary directory's ancestors (such as /tmp), whose times other processes change.
 */
async function treeOf(repo: Repository, root: string, dir: string): Promise<string | undefined> {
  let id: string | undefined = root;
  for (const name of dir.split('/').filter(Boolean)) {
    const nodes = await loadTree(repo, id!);
    id = nodes.find((n) => n.name.toString() === name)?.subtree;
    if (!id) return undefined;
  }
  return id;
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
    const blobsBefore = await dataBlobCount(repoDir);
    assert.ok(blobsBefore >= 2);

    const repo = await reopen(repoDir);
    const parent = await findSnapshot(repo, 'latest');
    const second = await backupPaths(repo, [src], { hostname: 'h', parent });
    assert.equal(second.counters.filesUnmodified, 2);
    assert.equal(second.counters.bytesRead, 0, 'unchanged files are not read again');
    assert.equal(await dataBlobCount(repoDir), blobsBefore);
    const srcTree = await treeOf(repo, first.snapshot.tree, src);
    assert.ok(srcTree);
    assert.equal(await treeOf(repo, second.snapshot.tree, src), srcTree);

    // Without a parent every file is read again, and still nothing new is stored.
    const repo3 = await reopen(repoDir);
    const third = await backupPaths(repo3, [src], { hostname: 'h' });
    assert.ok(third.counters.bytesRead >= 3_000_000);
    assert.equal(await dataBlobCount(repoDir), blobsBefore);
    assert.equal(await treeOf(repo3, third.snapshot.tree, src), srcTree);
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
