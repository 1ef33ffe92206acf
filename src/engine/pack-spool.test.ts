import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { localBackend } from '../backends/local.js';
import type { Backend } from '../backends/backend.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { CHEAP_KDF } from '../testing/repo.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { appendToSpool, copyToSpool, finishSpool, openSpool } from './pack-spool.js';
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

test('a spooled pack reads back as exactly the bytes appended, small and large alike', async () => {
  await withTmpdir(async () => {
    const parts = [
      pseudoRandomBytes(100, 1),
      pseudoRandomBytes(700_000, 2), // written directly
      ...Array.from({ length: 40 }, (_, i) => pseudoRandomBytes(50_000, 10 + i)), // staged, several flushes
      pseudoRandomBytes(3_000_000, 3),
      pseudoRandomBytes(4, 4),
    ];
    const sp = await openSpool();
    // Every third part is copied (its buffer then overwritten at once), the rest kept until written.
    for (const [i, p] of parts.entries()) {
      if (i % 3 !== 0) await appendToSpool(sp, p);
      else {
        const reused = Buffer.from(p);
        await copyToSpool(sp, reused);
        reused.fill(0xee);
      }
    }
    const back = await finishSpool(sp);
    assert.ok(back.equals(Buffer.concat(parts)));
  });
});

test('the temporary file has no name: its directory stays empty and keeps its times', async () => {
  await withTmpdir(async (dir) => {
    const before = fs.statSync(dir).mtimeMs;
    const sp = await openSpool();
    await appendToSpool(sp, pseudoRandomBytes(10_000, 5));
    assert.deepEqual(fs.readdirSync(dir), []);
    await finishSpool(sp);
    assert.deepEqual(fs.readdirSync(dir), []);
    if (process.platform === 'linux') assert.equal(fs.statSync(dir).mtimeMs, before);
  });
});

test('a failed pack upload fails the backup and leaves no temporary pack file open', async () => {
  const dir = makeTempDir('spool-fail');
  try {
    await initRepository(localBackend(dir), PW, { scrypt: CHEAP_KDF });
    const local = localBackend(dir);
    const failing: Backend = {
      ...local,
      save: async (h, data) => {
        if (h.type !== 'pack') return local.save(h, data);
        // Fails late, as a remote upload does: the next pack is being filled by then.
        await new Promise((resolve) => setTimeout(resolve, 30));
        throw new Error('injected: the disk is full');
      },
    };
    const openFds = () => fs.readdirSync('/proc/self/fd').length;
    const repo = await openRepository(failing, PW, { packSize: 64 * 1024, workers: 0 });
    const fdsBefore = openFds();
    let seed = 100;
    // Blobs handed over without waiting for each (as a backup does), so packs keep filling.
    await assert.rejects(async () => {
      for (;;) await repo.submitBlob('data', pseudoRandomBytes(40_000, seed++));
    }, /injected: the disk is full/);
    await assert.rejects(repo.flush(), /injected/);
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the closes finish
    assert.ok(openFds() <= fdsBefore, `file descriptors left open: ${openFds() - fdsBefore}`);
  } finally {
    removeDir(dir);
  }
});
