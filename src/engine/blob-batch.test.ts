/**
 * Small data blobs sealed in batches (blob-batch.ts, Repository's batch path): each sealed
 * blob opens to its plaintext, a batch never splits or reorders, and a repository stores,
 * deduplicates and reads back many small blobs alike with and without worker threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { localBackend } from '../backends/local.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { CHEAP_KDF } from '../testing/repo.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { type BatchSlice, sealBatch, sealedBound } from './blob-batch.js';
import { blobId, openBlob } from './blob-codec.js';
import { newMasterKey } from './crypto.js';
import { initRepository, openRepository } from './repository.js';

test('each blob of a sealed batch opens to its plaintext, in order, compressed or not', () => {
  const key = newMasterKey();
  const plains = [
    pseudoRandomBytes(1000, 1), // random: stored uncompressed
    Buffer.from('abc'.repeat(5000)), // compressible
    Buffer.alloc(0),
    pseudoRandomBytes(70_000, 2),
  ];
  const data = Buffer.concat(plains);
  const slices: BatchSlice[] = [];
  let at = 0;
  for (const p of plains) {
    slices.push({ at, length: p.length });
    at += p.length;
  }
  assert.throws(() => sealBatch(key, data, slices, true, Buffer.alloc(sealedBound(slices) - 1)), RangeError);
  const out = Buffer.alloc(sealedBound(slices));
  const r = sealBatch(key, data, slices, true, out);
  assert.equal(r.lengths.length, plains.length);
  assert.equal(
    r.lengths.reduce((a, b) => a + b, 0),
    r.size,
  );
  assert.ok(r.uncompressed[1] > 0, 'the repetitive blob is compressed');
  assert.equal(r.uncompressed[0], 0, 'the random blob is stored as it is');
  let pos = 0;
  plains.forEach((p, i) => {
    const loc = {
      type: 'data' as const,
      id: blobId(p),
      uncompressedLength: r.uncompressed[i],
      packId: 'test',
    };
    assert.ok(openBlob(key, loc, out.subarray(pos, pos + r.lengths[i])).equals(p));
    pos += r.lengths[i];
  });
});

for (const workers of [0, 2]) {
  test(`a repository stores thousands of small blobs in batches and reads each back (workers: ${workers})`, async () => {
    const dir = makeTempDir('batch');
    try {
      const repo = await initRepository(localBackend(dir), Buffer.from('pw'), { scrypt: CHEAP_KDF });
      const w = await openRepository(localBackend(dir), Buffer.from('pw'), {
        workers,
        packSize: 4 * 1024 * 1024,
      });
      const blobs = Array.from({ length: 3000 }, (_, i) =>
        i % 2
          ? pseudoRandomBytes(100 + ((i * 7919) % 20_000), i)
          : Buffer.from(`text ${i % 1000} `.repeat(200)),
      );
      const ids: string[] = [];
      const scratch = Buffer.alloc(256 * 1024);
      for (const b of blobs) {
        // The caller's buffer is reused at once: the blob must have been copied.
        b.copy(scratch);
        const { id } = await w.submitBlob('data', scratch.subarray(0, b.length));
        scratch.fill(0);
        ids.push(await id);
      }
      assert.deepEqual(
        ids,
        blobs.map((b) => blobId(b)),
      );
      // A blob saved on its own is stored without waiting for a batch to fill.
      const single = await w.saveBlob('data', Buffer.from('one more small blob'));
      assert.equal(single.added, true);
      await w.flush();
      const unique = new Set(ids).size + 1;
      assert.equal(w.stats.blobsAdded, unique, 'duplicates (the repeated texts) are stored once');
      assert.ok(repo.keyId);

      const r = await openRepository(localBackend(dir), Buffer.from('pw'), { workers });
      await r.loadIndex();
      assert.equal(r.index.data.size, unique);
      for (const [i, b] of blobs.entries()) assert.ok((await r.loadBlob('data', ids[i])).equals(b));
      const check = spawnSync('restic', ['-r', dir, 'check', '--read-data'], {
        env: { ...process.env, RESTIC_PASSWORD: 'pw' },
        encoding: 'utf8',
      });
      assert.equal(check.status, 0, check.stderr + check.stdout);
    } finally {
      removeDir(dir);
    }
  });
}
