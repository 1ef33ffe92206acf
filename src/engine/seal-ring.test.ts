/**
 * Blobs sealed by the worker threads into the repository's seal ring (shared memory copied
 * into the pack; shared-ring.test.ts covers waiting for room): the ring wraps many times, a
 * blob larger than the ring gets memory of its own, and every blob (data from shared blocks,
 * data and trees moved to a worker) reads back and passes `restic check --read-data`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localBackend } from '../backends/local.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { CHEAP_KDF } from '../testing/repo.js';
import { resticStatus } from '../testing/restic.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { blobId } from './blob-codec.js';
import { releaseBlock, takeBlock } from './block-pool.js';
import { sealInto, SEAL_OVERHEAD, open, newMasterKey } from './crypto.js';
import { initRepository, openRepository } from './repository.js';

test('sealInto writes IV, ciphertext and MAC into the given memory, and open() reverses it', () => {
  const key = newMasterKey();
  const plain = pseudoRandomBytes(200_000, 3); // several cipher windows
  const out = Buffer.alloc(plain.length + SEAL_OVERHEAD + 10, 0xee);
  assert.throws(() => sealInto(key, plain, out.subarray(0, plain.length + SEAL_OVERHEAD - 1)), RangeError);
  const n = sealInto(key, plain, out);
  assert.equal(n, plain.length + SEAL_OVERHEAD);
  assert.ok(open(key, out.subarray(0, n)).equals(plain));
  assert.equal(out[n], 0xee, 'nothing written past the sealed blob');
});

test('blobs sealed into the seal ring wrap it and read back, and restic check agrees', async () => {
  const dir = makeTempDir('seal-ring');
  try {
    await initRepository(localBackend(dir), Buffer.from('pw'), { scrypt: CHEAP_KDF });
    // The ring holds 8 MiB + 64 KiB (the largest chunk). Blobs of 0.1–1 MiB wrap it many times.
    const repo = await openRepository(localBackend(dir), Buffer.from('pw'), {
      workers: 2,
      packSize: 4 * 1024 * 1024,
      maxInFlightBytes: 256 * 1024,
    });
    const expected = new Map<string, Buffer>();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      const size = 100_000 + ((i * 104_729) % 900_000); // fits a 1 MiB block
      const plain =
        i % 3 ? pseudoRandomBytes(size, i) : Buffer.from(`row ${i} `.repeat(size / 8)).subarray(0, size);
      if (i % 2) {
        // A view of a shared block, as a file backup hands its chunks over.
        const block = takeBlock();
        plain.copy(block);
        // In two parts (a chunk that spans two blocks): compressed as one stream.
        const cut = Math.floor(plain.length / 3);
        const parts = [block.subarray(0, cut), block.subarray(cut, plain.length)];
        const { id, done } = await repo.submitBlob('data', parts);
        pending.push(done.finally(() => releaseBlock(block)));
        expected.set(await id, plain);
      } else {
        const { id, done } = await repo.submitBlob('data', plain);
        pending.push(done);
        expected.set(await id, plain);
      }
    }
    // Larger than the ring: sealed into memory of its own.
    const big = pseudoRandomBytes(9 * 1024 * 1024, 99);
    pending.push(repo.saveBlob('data', big));
    expected.set(blobId(big), big);
    const tree = Buffer.from(
      JSON.stringify({ nodes: Array.from({ length: 500 }, (_, i) => ({ name: `f${i}` })) }),
    );
    const treeId = (await repo.saveBlob('tree', tree)).id;
    await Promise.all(pending);
    await repo.flush();

    const r = await openRepository(localBackend(dir), Buffer.from('pw'), { workers: 0 });
    await r.loadIndex();
    for (const [id, plain] of expected) assert.ok((await r.loadBlob('data', id)).equals(plain), id);
    assert.ok((await r.loadBlob('tree', treeId)).equals(tree));
    const check = resticStatus(['check', '--read-data'], { repo: dir, password: 'pw' });
    assert.equal(check.code, 0, check.stderr + check.stdout);
  } finally {
    removeDir(dir);
  }
});
