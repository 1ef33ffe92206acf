/**
 * Restore by pack: a blob needed in several files and twice in one file, hard links, empty
 * and sparse files, symlinks, sub-paths, many packs and few open files; a damaged pack fails
 * the restore with INTEGRITY and leaves no file with wrong bytes; a repository written by
 * restic restores byte for byte. Both with and without worker threads.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { localBackend } from '../backends/local.js';
import { isHoldfastError } from '../errors.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { restic } from '../testing/restic.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { GoMode, type TreeNode } from './node.js';
import { FileWriter } from './restore-files.js';
import { splitSpans } from './pack-span.js';
import type { NeededBlob, PlannedFile } from './restore-plan.js';
import { initRepository, openRepository, type Repository } from './repository.js';
import { newRestoreCounters, restore } from './restorer.js';
import { listSnapshots } from './snapshots.js';
import { saveTree } from './tree-io.js';
import { findNode, rootNode } from './walker.js';
import { shutdownWorkers } from './worker-pool.js';

const PW = Buffer.from('restore by pack');
const KDF = { N: 1024, r: 8, p: 1 };
const T = '2023-11-14T22:13:20.123456789Z';

function node(name: string, extra: Partial<TreeNode> = {}): TreeNode {
  return {
    name: Buffer.from(name),
    type: 'file',
    mode: 0o644,
    mtime: T,
    atime: T,
    ctime: T,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    content: [],
    ...extra,
  };
}

const A = pseudoRandomBytes(50_000, 1);
const B = pseudoRandomBytes(30_001, 2);
const C = pseudoRandomBytes(200_000, 3);
const Z = Buffer.alloc(40_000);
/** Log-like text: stored compressed, and long enough to be opened in many windows. */
/** Compresses to almost nothing, and fills the decompression window exactly: 2 × 128 KiB. */
const R = Buffer.alloc(256 * 1024, 'restore ');
const L = Buffer.from(
  Array.from(pseudoRandomBytes(200_000, 4), (b, i) => `${['GET', 'PUT', 'ok', 'id'][b & 3]} ${b * i}\n`).join(
    '',
  ),
);

/** What each restored path must hold. */
const EXPECTED: Record<string, Buffer> = {
  'aba.bin': Buffer.concat([A, B, A]),
  'b.bin': B,
  'sub/a.bin': A,
  'sub/deeper/cab.bin': Buffer.concat([C, A, B, C]),
  'sparse.bin': Buffer.concat([Z, A, Z]),
  'zeros.bin': Buffer.concat([Z, Z]),
  'sub/text.log': L,
  'sub/repeat.txt': R,
  empty: Buffer.alloc(0),
  'link-1': Buffer.concat([B, A]),
  'sub/link-2': Buffer.concat([B, A]),
};

/** Builds a repository with small packs holding the tree above; returns its root node. */
async function buildRepo(dir: string): Promise<TreeNode> {
  await initRepository(localBackend(dir), PW, { scrypt: KDF });
  const repo = await openRepository(localBackend(dir), PW, { packSize: 64 * 1024, workers: 0 });
  const id: Record<string, string> = {};
  for (const [k, v] of Object.entries({ A, B, C, Z, L, R })) id[k] = (await repo.saveBlob('data', v)).id;
  const ids = (s: string) => [...s].map((c) => id[c]);
  const linked = { inode: 77n, deviceId: 5n, links: 2n };
  const deeper = await saveTree(repo, [node('cab.bin', { content: ids('CABC'), mode: 0o600 })]);
  const sub = await saveTree(repo, [
    node('a.bin', { content: ids('A') }),
    node('deeper', { type: 'dir', mode: GoMode.dir + 0o750, content: null, subtree: deeper }),
    node('link-2', { content: ids('BA'), ...linked }),
    node('text.log', { content: ids('L') }),
    node('repeat.txt', { content: ids('R') }),
  ]);
  const root = await saveTree(repo, [
    node('aba.bin', { content: ids('ABA'), mode: 0o755 }),
    node('b.bin', { content: ids('B') }),
    node('empty', { content: [] }),
    node('link-1', { content: ids('BA'), ...linked }),
    node('sparse.bin', { content: ids('ZAZ') }),
    node('sub', { type: 'dir', mode: GoMode.dir + 0o755, content: null, subtree: sub }),
    node('symlink', {
      type: 'symlink',
      mode: GoMode.symlink + 0o777,
      content: null,
      linktarget: Buffer.from('b.bin'),
    }),
    node('zeros.bin', { content: ids('ZZ') }),
  ]);
  await repo.flush();
  return { ...node('', { type: 'dir', content: null }), subtree: root };
}

async function openRepo(dir: string, workers: number): Promise<Repository> {
  const repo = await openRepository(localBackend(dir), PW, { workers });
  await repo.loadIndex();
  return repo;
}

function checkRestored(target: string): void {
  for (const [p, want] of Object.entries(EXPECTED))
    assert.ok(fs.readFileSync(path.join(target, p)).equals(want), `${p} has the right bytes`);
  const l1 = fs.statSync(path.join(target, 'link-1'));
  const l2 = fs.statSync(path.join(target, 'sub/link-2'));
  assert.equal(l1.ino, l2.ino, 'link-1 and sub/link-2 are one inode');
  assert.equal(l1.nlink, 2);
  assert.equal(fs.readlinkSync(path.join(target, 'symlink')), 'b.bin');
  assert.equal(fs.statSync(path.join(target, 'aba.bin')).mode & 0o7777, 0o755);
  assert.equal(fs.statSync(path.join(target, 'sub/deeper/cab.bin')).mode & 0o7777, 0o600);
  assert.equal(fs.statSync(path.join(target, 'sub/deeper')).mode & 0o7777, 0o750);
  for (const p of ['aba.bin', 'sub/deeper/cab.bin', 'sub', 'sub/deeper', 'empty']) {
    const st = fs.statSync(path.join(target, p), { bigint: true });
    assert.equal(st.mtimeNs / 1000n, 1_700_000_000_123_456n, `${p} has its mtime`);
  }
}

describe('restore by pack', () => {
  let tmp: string;
  let repoDir: string;
  let root: TreeNode;
  before(async () => {
    tmp = makeTempDir('restorer');
    repoDir = path.join(tmp, 'repo');
    root = await buildRepo(repoDir);
  });
  after(async () => {
    await shutdownWorkers();
    removeDir(tmp);
  });

  test('the repository has many packs (the test needs blobs spread over several)', async () => {
    const repo = await openRepo(repoDir, 0);
    assert.ok(repo.index.packs.size >= 3, `${repo.index.packs.size} packs`);
    const text = [...repo.index.data.values()].find((loc) => loc.uncompressedLength === L.length);
    assert.ok(text && text.length < L.length / 2, 'the text blob is stored compressed');
    assert.ok(text.length > 3 * 65536, 'and opened in several windows');
  });

  for (const workers of [0, 2]) {
    test(`blobs shared between files and repeated in one, hard links, empty files (workers: ${workers})`, async () => {
      const repo = await openRepo(repoDir, workers);
      const target = path.join(tmp, `full-${workers}`);
      const counters = newRestoreCounters();
      const warnings: string[] = [];
      await restore(repo, root, {
        target,
        counters,
        verify: true,
        onWarning: (p, m) => warnings.push(`${p}: ${m}`),
      });
      checkRestored(target);
      assert.deepEqual(warnings, []);
      assert.equal(counters.files, 11);
      assert.equal(counters.verifiedFiles, 10, 'every written file is verified (the link is not written)');
      assert.equal(counters.dirs, 2);
      // Every written byte; the second name of the hard link writes none.
      const total = Object.values(EXPECTED).reduce((n, b) => n + b.length, 0);
      assert.equal(counters.bytes, total - EXPECTED['sub/link-2'].length);
    });

    test(`a sparse restore leaves holes but the right sizes and bytes (workers: ${workers})`, async () => {
      const repo = await openRepo(repoDir, workers);
      const target = path.join(tmp, `sparse-${workers}`);
      // Without verification (workers: 2), files whose blobs lie in one range are written whole
      // by the job that opens them; verification keeps every file here.
      await restore(repo, root, { target, sparse: true, verify: workers === 0 });
      checkRestored(target);
      const zeros = fs.statSync(path.join(target, 'zeros.bin'));
      assert.equal(zeros.size, 80_000);
      assert.ok(zeros.blocks * 512 < 80_000, `zeros.bin is sparse (${zeros.blocks} blocks)`);
    });
  }

  test('a sub-path restores on its own: a directory, and a single file', async () => {
    const repo = await openRepo(repoDir, 2);
    const sub = await findNode(repo, root, '/sub');
    const target = path.join(tmp, 'sub-only');
    await restore(repo, sub, { target });
    assert.ok(fs.readFileSync(path.join(target, 'deeper/cab.bin')).equals(EXPECTED['sub/deeper/cab.bin']));
    assert.ok(fs.readFileSync(path.join(target, 'link-2')).equals(EXPECTED['sub/link-2']));
    assert.ok(!fs.existsSync(path.join(target, 'aba.bin')));
    const file = await findNode(repo, root, '/aba.bin');
    const fileTarget = path.join(tmp, 'file-only');
    await restore(repo, file, { target: fileTarget });
    assert.deepEqual(fs.readdirSync(fileTarget), ['aba.bin']);
    assert.ok(fs.readFileSync(path.join(fileTarget, 'aba.bin')).equals(EXPECTED['aba.bin']));
  });

  test('restoring over an earlier restore gives the same result', async () => {
    const repo = await openRepo(repoDir, 2);
    const target = path.join(tmp, 'twice');
    await restore(repo, root, { target });
    fs.writeFileSync(path.join(target, 'aba.bin'), 'x'.repeat(500_000));
    await restore(repo, root, { target });
    checkRestored(target);
  });

  // C is a blob of sub/deeper/cab.bin only, which has blobs in several packs (held open by the
  // restore); L is all of sub/text.log (created and finished by the job that opens L).
  const victims = [
    { name: 'C', file: 'sub/deeper/cab.bin', length: C.length },
    { name: 'L', file: 'sub/text.log', length: L.length },
  ];
  for (const workers of [0, 2])
    for (const victim of victims)
      test(`a damaged pack fails the restore with INTEGRITY and leaves no file with wrong bytes (blob ${victim.name}, workers: ${workers})`, async () => {
        const dir = path.join(tmp, `damaged-${victim.name}-${workers}`);
        fs.cpSync(repoDir, dir, { recursive: true });
        const repo = await openRepo(dir, workers);
        const loc = [...repo.index.data.values()].find(
          (l) => (l.uncompressedLength || l.length - 32) === victim.length,
        )!;
        const pack = path.join(dir, 'data', loc.packId.slice(0, 2), loc.packId);
        fs.chmodSync(pack, 0o600);
        const bytes = fs.readFileSync(pack);
        bytes[loc.offset + 100] ^= 0x40;
        fs.writeFileSync(pack, bytes);
        const target = path.join(tmp, `damaged-restore-${victim.name}-${workers}`);
        await assert.rejects(restore(repo, root, { target }), (err) => {
          assert.ok(isHoldfastError(err, 'INTEGRITY'), String(err));
          assert.match((err as Error).message, /damaged data blob [0-9a-f]{64} in pack [0-9a-f]{64}/);
          return true;
        });
        assert.ok(!fs.existsSync(path.join(target, victim.file)), 'the damaged file is removed');
        for (const [p, want] of Object.entries(EXPECTED)) {
          const f = path.join(target, p);
          if (fs.existsSync(f)) assert.ok(fs.readFileSync(f).equals(want), `${p} is whole or absent`);
        }
      });

  for (const workers of [0, 2])
    test(`a truncated pack fails the restore with the backend's error, read by workers or not (workers: ${workers})`, async () => {
      const dir = path.join(tmp, `truncated-${workers}`);
      fs.cpSync(repoDir, dir, { recursive: true });
      const repo = await openRepo(dir, workers);
      const loc = [...repo.index.data.values()].find(
        (l) => (l.uncompressedLength || l.length - 32) === C.length,
      )!;
      const pack = path.join(dir, 'data', loc.packId.slice(0, 2), loc.packId);
      fs.chmodSync(pack, 0o600);
      fs.truncateSync(pack, loc.offset + 10);
      const target = path.join(tmp, `truncated-restore-${workers}`);
      await assert.rejects(restore(repo, root, { target }), (err) => {
        assert.ok(isHoldfastError(err), String(err));
        assert.match((err as Error).message, new RegExp(loc.packId.slice(0, 8)));
        return true;
      });
      assert.ok(!fs.existsSync(path.join(target, 'sub/deeper/cab.bin')), 'the unfinished file is removed');
    });

  test('a repository written by restic restores byte for byte', async () => {
    const src = path.join(tmp, 'restic-src');
    fs.mkdirSync(path.join(src, 'd1'), { recursive: true });
    fs.mkdirSync(path.join(src, 'd2'), { recursive: true });
    const big = pseudoRandomBytes(3_000_000, 9);
    fs.writeFileSync(path.join(src, 'd1/big.bin'), big);
    fs.writeFileSync(path.join(src, 'd2/big-twice.bin'), Buffer.concat([big, big]));
    fs.writeFileSync(path.join(src, 'd2/shifted.bin'), Buffer.concat([Buffer.from('shift'), big]));
    for (let i = 0; i < 200; i++)
      fs.writeFileSync(path.join(src, i % 2 ? 'd1' : 'd2', `small-${i}`), pseudoRandomBytes(10 + i * 37, i));
    fs.writeFileSync(path.join(src, 'd1/empty'), '');
    fs.linkSync(path.join(src, 'd1/small-1'), path.join(src, 'd2/hard-link'));
    const repoPath = path.join(tmp, 'restic-repo');
    restic(['init'], { repo: repoPath, password: PW.toString() });
    restic(['backup', src], { repo: repoPath, password: PW.toString() });
    const repo = await openRepository(localBackend(repoPath), PW, { workers: 2 });
    await repo.loadIndex();
    const [snap] = await listSnapshots(repo);
    const target = path.join(tmp, 'restic-restored');
    await restore(repo, rootNode(snap.snapshot.tree, snap.snapshot.time), { target, verify: true });
    const restored = path.join(target, src);
    const files = fs.readdirSync(src, { recursive: true, encoding: 'utf8' });
    for (const f of files) {
      const s = fs.lstatSync(path.join(src, f));
      if (!s.isFile()) continue;
      assert.ok(fs.readFileSync(path.join(restored, f)).equals(fs.readFileSync(path.join(src, f))), f);
      const mtime = fs.statSync(path.join(restored, f), { bigint: true }).mtimeNs / 1000n;
      assert.equal(mtime, fs.statSync(path.join(src, f), { bigint: true }).mtimeNs / 1000n, `${f} mtime`);
    }
    assert.equal(
      fs.statSync(path.join(restored, 'd2/hard-link')).ino,
      fs.statSync(path.join(restored, 'd1/small-1')).ino,
    );
  });
});

describe('restore by pack, pieces', () => {
  const loc = (offset: number, length: number) => ({ loc: { offset, length } }) as unknown as NeededBlob;

  test('a pack is read in one range unless its needed blobs lie far apart or the range grows too long', () => {
    const spans = splitSpans([loc(500, 100), loc(0, 100), loc(150, 50), loc(5000, 10)], 1000, 10_000);
    assert.deepEqual(
      spans.map((s) => [s.offset, s.length, s.blobs.length]),
      [
        [0, 600, 3],
        [5000, 10, 1],
      ],
    );
    const capped = splitSpans([loc(0, 100), loc(100, 100), loc(200, 100)], 1000, 250);
    assert.deepEqual(
      capped.map((s) => [s.offset, s.length]),
      [
        [0, 200],
        [200, 100],
      ],
    );
  });

  test('files written a piece at a time, out of order, with few open at once, come out whole', async () => {
    const tmp = makeTempDir('restore-files');
    try {
      const parts = Array.from({ length: 6 }, (_, i) => pseudoRandomBytes(1000 + i, i + 1));
      const finished: string[] = [];
      const files: PlannedFile[] = Array.from({ length: 5 }, (_, i) => ({
        path: Buffer.from(path.join(tmp, `f${i}`)),
        node: node(`f${i}`, { content: [] }),
        size: parts.reduce((n, p) => n + p.length, 0),
        writes: parts.length,
      }));
      const writer = new FileWriter({
        verify: false,
        isRoot: false,
        index: { data: new Map(), tree: new Map(), packs: new Map() },
        onFinished: (f) => finished.push(path.basename(f.path.toString())),
        maxOpen: 2,
      });
      const offsets = parts.map((_, i) => parts.slice(0, i).reduce((n, p) => n + p.length, 0));
      // Last part first, the files interleaved: every file is closed and reopened on the way.
      for (let i = parts.length - 1; i >= 0; i--)
        for (const f of files) await writer.write(f, offsets[i], parts[i]);
      assert.deepEqual(finished, ['f0', 'f1', 'f2', 'f3', 'f4']);
      for (const f of files) assert.ok(fs.readFileSync(f.path).equals(Buffer.concat(parts)));
    } finally {
      removeDir(tmp);
    }
  });
});
