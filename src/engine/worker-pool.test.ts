/**
 * The worker-thread path against the single-thread path: the same blobs, trees, packs and
 * index; restore and check --read-data agree; a failing worker fails the backup with a clear
 * error and no snapshot; idle workers never keep the process alive and close() stops them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { localBackend } from '../backends/local.js';
import { isHoldfastError } from '../errors.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { backupPaths } from './archiver.js';
import { checkRepository } from './checker.js';
import { randomPolynomial } from './polynomial.js';
import { initRepository, openRepository, type Repository } from './repository.js';
import { restore } from './restorer.js';
import { listSnapshots } from './snapshots.js';
import { backupStream } from './stream-backup.js';
import { findNode, rootNode } from './walker.js';
import { shutdownWorkers, WorkerPool } from './worker-pool.js';

const PW = Buffer.from('workers');
const KDF = { N: 1024, r: 8, p: 1 };

async function open(dir: string, workers: number): Promise<Repository> {
  const repo = await openRepository(localBackend(dir), PW, { packSize: 1 << 20, workers });
  await repo.loadIndex();
  return repo;
}

/** Each pack's blob list (type, ID, lengths, offset), packs sorted: what the index says. */
function packLayout(repo: Repository): string[] {
  return [...repo.index.packs.values()]
    .map((blobs) =>
      blobs.map((b) => `${b.type}:${b.id}:${b.offset}:${b.length}:${b.uncompressedLength}`).join(','),
    )
    .sort();
}

async function* stream(parts: number, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < parts; i++) yield pseudoRandomBytes(size, 1000 + i);
}

describe('worker threads', () => {
  let tmp: string;
  let src: string;
  const pol = randomPolynomial();
  before(() => {
    tmp = makeTempDir('workers');
    src = path.join(tmp, 'src');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    const big = pseudoRandomBytes(5_000_000, 7);
    fs.writeFileSync(path.join(src, 'big.bin'), big);
    fs.writeFileSync(path.join(src, 'shifted.bin'), Buffer.concat([Buffer.from('prefix'), big]));
    fs.writeFileSync(path.join(src, 'text.txt'), 'compressible line\n'.repeat(200_000));
    for (let i = 0; i < 60; i++)
      fs.writeFileSync(path.join(src, 'sub', `f${i}`), pseudoRandomBytes(100 + i * 997, i));
    fs.writeFileSync(path.join(src, 'sub', 'empty'), '');
    // Read everything once, so that (relatime) the backups below see the same atimes.
    for (const e of fs.readdirSync(src, { recursive: true, withFileTypes: true }))
      if (e.isFile()) fs.readFileSync(path.join(e.parentPath, e.name));
  });
  after(async () => {
    await shutdownWorkers();
    removeDir(tmp);
  });

  test('two workers store exactly what the single-thread path stores; both restore and check', async () => {
    const results = [];
    for (const workers of [0, 2]) {
      const dir = path.join(tmp, `repo-${workers}`);
      await initRepository(localBackend(dir), PW, { scrypt: KDF, chunkerPolynomial: pol });
      const repo = await open(dir, workers);
      assert.equal(repo.workerCount, workers);
      const res = await backupPaths(repo, [src], { hostname: 'h', timeNs: 1_700_000_000_000_000_000n });
      const srcNode = await findNode(repo, rootNode(res.snapshot.tree, res.snapshot.time), src);
      results.push({
        dir,
        res,
        tree: srcNode.subtree,
        stats: { ...repo.stats },
        layout: packLayout(await open(dir, 0)),
      });
    }
    const [single, multi] = results;
    // The tree of src (its parents' times differ: the repositories are created beside it).
    assert.ok(single.tree);
    assert.equal(multi.tree, single.tree);
    assert.equal(multi.stats.blobsAdded, single.stats.blobsAdded);
    // Files read at the same time may reach the packs in either order: compare the blobs.
    const dataBlobs = (layout: string[]) =>
      layout
        .flatMap((p) => p.split(','))
        .filter((b) => b.startsWith('data:'))
        .map((b) =>
          b
            .split(':')
            .filter((_, i) => i !== 2)
            .join(':'),
        )
        .sort();
    assert.deepEqual(dataBlobs(multi.layout), dataBlobs(single.layout));

    for (const { dir, res } of results) {
      for (const workers of [0, 2]) {
        const repo = await open(dir, workers);
        const report = await checkRepository(repo, { readData: { kind: 'all' } });
        assert.deepEqual(report.errors, []);
        const target = path.join(tmp, `restore-${path.basename(dir)}-${workers}`);
        await restore(repo, rootNode(res.snapshot.tree, res.snapshot.time), { target, verify: true });
        const restored = path.join(target, ...src.split('/').filter(Boolean));
        for (const f of ['big.bin', 'shifted.bin', 'text.txt', 'sub/f59', 'sub/empty'])
          assert.deepEqual(fs.readFileSync(path.join(restored, f)), fs.readFileSync(path.join(src, f)), f);
      }
    }
  });

  test('a stream is packed in the same order, at the same offsets, with and without workers', async () => {
    const layouts = [];
    for (const workers of [0, 2]) {
      const dir = path.join(tmp, `stream-${workers}`);
      await initRepository(localBackend(dir), PW, { scrypt: KDF, chunkerPolynomial: pol });
      const repo = await open(dir, workers);
      // 16.8 MB: at least three chunks whatever the (random) polynomial, so several packs.
      await backupStream(repo, stream(24, 700_000), 'data.bin', { hostname: 'h' });
      layouts.push(packLayout(await open(dir, 0)).filter((p) => p.startsWith('data:')));
    }
    assert.ok(layouts[0].length > 1);
    assert.deepEqual(layouts[1], layouts[0]);
  });

  test('damage is reported the same with and without workers', async () => {
    const dir = path.join(tmp, 'repo-2');
    const packs = fs.readdirSync(path.join(dir, 'data'), { recursive: true, withFileTypes: true });
    const victim = packs.filter((e) => e.isFile()).sort((a, b) => a.name.localeCompare(b.name))[0];
    const file = path.join(victim.parentPath, victim.name);
    const bytes = fs.readFileSync(file);
    bytes[100] ^= 1;
    fs.writeFileSync(file, bytes);
    const reports = [];
    for (const workers of [0, 2])
      reports.push(await checkRepository(await open(dir, workers), { readData: { kind: 'all' } }));
    assert.ok(reports[0].errors.length > 0);
    assert.deepEqual(reports[1].errors, reports[0].errors);
    assert.deepEqual(reports[1].damagedSnapshots, reports[0].damagedSnapshots);
  });

  for (const fault of ['throw', 'exit']) {
    test(`a worker that fails (${fault}) fails the backup with a clear error and writes no snapshot`, async () => {
      await shutdownWorkers(); // the next workers start with the fault switched on
      process.env.HOLDFAST_TEST_WORKER_FAULT = fault;
      const dir = path.join(tmp, `repo-fault-${fault}`);
      await initRepository(localBackend(dir), PW, { scrypt: KDF });
      try {
        const repo = await open(dir, 2);
        await assert.rejects(
          backupStream(repo, stream(6, 1_000_000), 'data.bin', { hostname: 'h' }),
          (err) =>
            isHoldfastError(err, 'IO') &&
            (fault === 'throw'
              ? /injected worker fault/.test(err.message)
              : /blob worker thread stopped unexpectedly/.test(err.message)),
        );
        await assert.rejects(backupPaths(repo, [src], { hostname: 'h' }), (err) => isHoldfastError(err));
      } finally {
        delete process.env.HOLDFAST_TEST_WORKER_FAULT;
        await shutdownWorkers();
      }
      assert.equal((await listSnapshots(await open(dir, 0))).length, 0);
      // Workers started after the fault work again.
      const res = await backupStream(await open(dir, 2), stream(3, 1_000_000), 'data.bin', { hostname: 'h' });
      assert.equal(res.counters.bytesRead, 3_000_000);
    });
  }

  test('close() stops the threads; idle threads do not keep a process alive', async () => {
    const pool = new WorkerPool(2);
    const data = new Uint8Array(10_000);
    await Promise.all([pool.run({ op: 'hash', data }), pool.run({ op: 'hash', data: new Uint8Array(5) })]);
    assert.equal(pool.threadIds.length, 2);
    await pool.close();
    assert.equal(pool.threadIds.length, 0);
    assert.throws(() => pool.run({ op: 'hash', data }), /closed/);

    const dir = path.join(tmp, 'repo-exit');
    await initRepository(localBackend(dir), PW, { scrypt: KDF });
    const script = `
      import { localBackend } from ${JSON.stringify(new URL('../backends/local.js', import.meta.url).href)};
      import { openRepository } from ${JSON.stringify(new URL('./repository.js', import.meta.url).href)};
      import { backupPaths } from ${JSON.stringify(new URL('./archiver.js', import.meta.url).href)};
      const repo = await openRepository(localBackend(${JSON.stringify(dir)}), Buffer.from('workers'), { workers: 2 });
      await repo.loadIndex();
      const r = await backupPaths(repo, [${JSON.stringify(src)}], { hostname: 'h' });
      console.log(r.snapshotId);`;
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /^[0-9a-f]{64}\n$/);
    assert.ok(Date.now() - started < 60_000);
  });
});
