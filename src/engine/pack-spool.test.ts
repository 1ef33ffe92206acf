import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { localBackend } from '../backends/local.js';
import { type Backend, relativePath } from '../backends/backend.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { CHEAP_KDF } from '../testing/repo.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { checkRepository } from './checker.js';
import { copyToSpool, openSpool, sealSpool } from './pack-spool.js';
import { initRepository, openRepository } from './repository.js';

const PW = Buffer.from('spool');

/** Runs `fn` with TMPDIR set to a fresh directory, which is removed afterwards. */
async function withTmpdir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = makeTempDir('spool');
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    await fn(dir);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    removeDir(dir);
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const openFds = () => fs.readdirSync('/proc/self/fd').length;

/** Every file under `dir`, relative path to its bytes. */
function filesUnder(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    out.set(path.relative(dir, p), fs.readFileSync(p));
  }
  return out;
}

test('a spooled pack reads back as exactly the bytes appended, small and large alike; its ID is their hash', async () => {
  await withTmpdir(async () => {
    const parts = [
      pseudoRandomBytes(100, 1),
      pseudoRandomBytes(700_000, 2),
      ...Array.from({ length: 40 }, (_, i) => pseudoRandomBytes(50_000, 10 + i)), // several flushes
      pseudoRandomBytes(3_000_000, 3), // spans both staging buffers several times
      pseudoRandomBytes(4, 4),
    ];
    const sp = await openSpool();
    // Each part is copied: its buffer is overwritten as soon as the append returns.
    for (const p of parts) {
      const reused = Buffer.from(p);
      await copyToSpool(sp, reused);
      reused.fill(0xee);
    }
    const sealed = await sealSpool(sp);
    const back = await sealed.read();
    await sealed.close();
    assert.ok(back.equals(Buffer.concat(parts)));
    assert.equal(sealed.length, back.length);
    assert.equal(sealed.id, sha256(back));
  });
});

test('a sealed spool is stored by the local backend straight from its file, identical to save', async () => {
  await withTmpdir(async (tmp) => {
    const repo = path.join(tmp, 'repo');
    const be = localBackend(repo);
    await be.create();
    const fdsBefore = openFds();
    const sp = await openSpool();
    for (let i = 0; i < 20; i++) await copyToSpool(sp, pseudoRandomBytes(1000 + i * 30_000, 200 + i));
    await copyToSpool(sp, pseudoRandomBytes(5_000, 1));
    const sealed = await sealSpool(sp);
    if (sealed.path === undefined) {
      await sealed.close();
      return; // no /proc here: packs are read back instead
    }
    const h = { type: 'pack', name: sealed.id } as const;
    await be.saveFile!(h, sealed.path, sealed.length);
    const back = await sealed.read();
    await sealed.close();
    assert.equal(sealed.id, sha256(back));
    const stored = path.join(repo, relativePath(h));
    assert.ok(fs.readFileSync(stored).equals(back));
    assert.equal(fs.statSync(stored).mode & 0o777, 0o400);
    // The same bytes through save land as the same file; nothing else is left anywhere.
    const other = localBackend(path.join(tmp, 'other'));
    await other.create();
    await other.save(h, back);
    assert.deepEqual(filesUnder(repo), filesUnder(path.join(tmp, 'other')));
    assert.deepEqual(fs.readdirSync(tmp).sort(), ['other', 'repo'], 'no temporary file in TMPDIR');
    assert.equal(openFds(), fdsBefore);
    // A length the file does not have is refused, and nothing is stored.
    const sp2 = await openSpool();
    await copyToSpool(sp2, pseudoRandomBytes(3000, 9));
    const s2 = await sealSpool(sp2);
    const h2 = { type: 'pack', name: s2.id } as const;
    await assert.rejects(be.saveFile!(h2, s2.path!, s2.length + 1), /holds 3000 bytes, not 3001/);
    await s2.close();
    assert.equal((await be.list('pack')).length, 1);
    assert.ok(![...filesUnder(repo).keys()].some((k) => k.includes('-tmp-')));
  });
});

test('packs stored with saveFile and with save are alike: same sizes, content-named, check --read-data passes', async () => {
  const dir = makeTempDir('spool-alike');
  try {
    const sizes: number[][] = [];
    for (const fileCopy of [true, false]) {
      const root = path.join(dir, String(fileCopy));
      await initRepository(localBackend(root), PW, { scrypt: CHEAP_KDF });
      const local = localBackend(root);
      let copies = 0;
      const be: Backend = {
        ...local,
        saveFile: fileCopy
          ? async (h, file, length) => {
              copies++;
              await local.saveFile!(h, file, length);
            }
          : undefined,
      };
      const repo = await openRepository(be, PW, { packSize: 256 * 1024 });
      const done: Promise<unknown>[] = [];
      for (let i = 0; i < 60; i++) {
        const size = [100, 3_000, 40_000, 200_000, 700_000][i % 5];
        done.push((await repo.submitBlob('data', pseudoRandomBytes(size, 300 + i))).done);
      }
      await repo.flush();
      await Promise.all(done);
      const packs = await local.list('pack');
      assert.ok(packs.length > 3);
      for (const p of packs) {
        const bytes = fs.readFileSync(path.join(root, relativePath({ type: 'pack', name: p.name })));
        assert.equal(sha256(bytes), p.name);
      }
      sizes.push(packs.map((p) => p.size).sort((a, b) => a - b));
      if (process.platform === 'linux') assert.equal(copies > 0, fileCopy);
      const report = await checkRepository(await openRepository(local, PW), { readData: { kind: 'all' } });
      assert.deepEqual(report.errors, []);
      assert.equal(report.packsRead, packs.length);
    }
    assert.deepEqual(sizes[0], sizes[1]);
  } finally {
    removeDir(dir);
  }
});

test('the temporary file has no name: its directory stays empty and keeps its times', async () => {
  await withTmpdir(async (dir) => {
    const before = fs.statSync(dir).mtimeMs;
    const sp = await openSpool();
    await copyToSpool(sp, pseudoRandomBytes(10_000, 5));
    assert.deepEqual(fs.readdirSync(dir), []);
    await (await sealSpool(sp)).close();
    assert.deepEqual(fs.readdirSync(dir), []);
    if (process.platform === 'linux') assert.equal(fs.statSync(dir).mtimeMs, before);
  });
});

test('a failed pack upload fails the backup and leaves no temporary pack file open or behind', async () => {
  for (const fileCopy of [false, true]) {
    const dir = makeTempDir('spool-fail');
    try {
      await initRepository(localBackend(dir), PW, { scrypt: CHEAP_KDF });
      const local = localBackend(dir);
      // Both fail late, as a remote upload does: the next pack is being filled by then.
      const late = () => new Promise((resolve) => setTimeout(resolve, 30));
      const failing: Backend = {
        ...local,
        save: async (h, data) => {
          if (h.type !== 'pack') return local.save(h, data);
          await late();
          throw new Error('injected: the disk is full');
        },
        // A real failure of the local copy (the file is not as long as said), after it started.
        saveFile: fileCopy
          ? async (h, file, length) => {
              await late();
              await local.saveFile!(h, file, length + 1);
            }
          : undefined,
      };
      const failure = fileCopy ? /holds \d+ bytes, not \d+/ : /injected: the disk is full/;
      const repo = await openRepository(failing, PW, { packSize: 64 * 1024, workers: 0 });
      const fdsBefore = openFds();
      let seed = 100;
      // Blobs handed over without waiting for each (as a backup does), so packs keep filling.
      await assert.rejects(async () => {
        for (;;) await repo.submitBlob('data', pseudoRandomBytes(40_000, seed++));
      }, failure);
      await assert.rejects(repo.flush(), failure);
      await new Promise((resolve) => setTimeout(resolve, 50)); // let the closes finish
      assert.ok(openFds() <= fdsBefore, `file descriptors left open: ${openFds() - fdsBefore}`);
      assert.deepEqual(
        [...filesUnder(path.join(dir, 'data')).keys()],
        [],
        'no pack and no temporary file stored',
      );
    } finally {
      removeDir(dir);
    }
  }
});
