/**
 * check --read-data reads packs while the structure is still being checked, but reports as
 * if it read them after: the structure's findings first (exactly those of a check without
 * --read-data), then each pack's verdict in pack order, the same as verifyPack on the whole
 * pack; a damaged tree found by both is reported by both, and the snapshots it hurts named.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeRepoWithHistory, openTestRepo } from '../testing/repo.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { checkRepository } from './checker.js';
import { verifyPack } from './pack-verify.js';
import { openRepository } from './repository.js';
import { localBackend } from '../backends/local.js';
import { shutdownWorkers } from './worker-pool.js';

const PW = 'order';

function packFile(repo: string, id: string): string {
  return path.join(repo, 'data', id.slice(0, 2), id);
}

function flip(file: string, at: number): void {
  fs.chmodSync(file, 0o600);
  const bytes = fs.readFileSync(file);
  bytes[at] ^= 1;
  fs.writeFileSync(file, bytes);
}

describe('check --read-data findings come after the structure', () => {
  let tmp: string;
  let repoDir: string;

  before(async () => {
    tmp = makeTempDir('check-order');
    repoDir = path.join(tmp, 'repo');
    await makeRepoWithHistory(repoDir, path.join(tmp, 'src'), PW, 3);
    const repo = await openTestRepo(repoDir, PW);
    await repo.loadIndex();
    const packs = [...repo.index.packs];
    const dataPacks = packs.filter(([, blobs]) => blobs.every((b) => b.type === 'data'));
    const treePack = packs.find(([, blobs]) => blobs.some((b) => b.type === 'tree'));
    assert.ok(dataPacks.length >= 3 && treePack, 'data packs and a tree pack');
    // A blob damaged in two data packs, a third pack gone, a tree damaged.
    for (const [id, blobs] of dataPacks.slice(0, 2)) flip(packFile(repoDir, id), blobs[0].offset + 40);
    fs.rmSync(packFile(repoDir, dataPacks[2][0]));
    const tree = treePack[1].find((b) => b.type === 'tree');
    flip(packFile(repoDir, treePack[0]), (tree?.offset ?? 0) + 20);
  });
  after(async () => {
    await shutdownWorkers();
    removeDir(tmp);
  });

  for (const workers of [0, 2]) {
    test(`${workers} workers: structure findings, then each pack's verdict in pack order`, async () => {
      const open = () => openRepository(localBackend(repoDir), Buffer.from(PW), { workers });
      const structure = await checkRepository(await open());
      const full = await checkRepository(await open(), { readData: { kind: 'all' } });
      assert.ok(
        structure.errors.some((e) => e.kind === 'tree'),
        'the damaged tree is found',
      );
      assert.ok(
        structure.errors.some((e) => e.kind === 'pack'),
        'the missing pack is found',
      );

      const repo = await open();
      await repo.loadIndex();
      const named = new Set(structure.errors.filter((e) => e.kind === 'pack').map((e) => e.id));
      const dataFindings = [...repo.index.packs]
        .filter(([id]) => !named.has(id))
        .flatMap(
          ([id, blobs]) => verifyPack(repo.key, id, fs.readFileSync(packFile(repoDir, id)), blobs).problems,
        );
      assert.ok(dataFindings.length >= 3, 'two damaged data blobs and the damaged tree blob');
      assert.deepEqual(full.errors, [...structure.errors, ...dataFindings]);
      assert.equal(full.packsRead, repo.index.packs.size - named.size);
      assert.deepEqual(structure.hints, full.hints);
      assert.ok(full.damagedSnapshots.length > 0);
      assert.ok(structure.damagedSnapshots.every((s) => full.damagedSnapshots.includes(s)));
    });
  }

  test('subsets: buckets n/m read their packs, a percentage its share, findings as with all', async () => {
    const open = () => openRepository(localBackend(repoDir), Buffer.from(PW), { workers: 2 });
    const all = await checkRepository(await open(), { readData: { kind: 'all' } });
    const halves = [];
    for (const n of [1, 2])
      halves.push(await checkRepository(await open(), { readData: { kind: 'bucket', n, m: 2 } }));
    assert.equal(halves[0].packsRead + halves[1].packsRead, all.packsRead);
    const some = await checkRepository(await open(), { readData: { kind: 'percent', percent: 50 } });
    assert.equal(some.packsRead, Math.ceil(all.packsRead / 2));
    const structure = await checkRepository(await open());
    for (const r of [...halves, some]) {
      assert.deepEqual(r.errors.slice(0, structure.errors.length), structure.errors);
      for (const e of r.errors.slice(structure.errors.length))
        assert.ok(all.errors.some((a) => a.message === e.message));
    }
  });
});
