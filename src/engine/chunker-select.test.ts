/**
 * Cuts picked from block-wise candidates (chunker-select.ts, chunker.ts cutCandidates, the
 * WebAssembly kernel's `candidates`) are exactly the reference chunker's cuts, for any block
 * sizes, and saveChunked on worker threads (with its in-order fallback for blocks full of
 * candidates, such as zeros) stores exactly the chunks the single-thread path stores.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localBackend } from '../backends/local.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { CHEAP_KDF } from '../testing/repo.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { blobId } from './blob-codec.js';
import { saveChunked } from './chunk-saver.js';
import { createChunker, cutCandidates } from './chunker.js';
import { createCutSelector } from './chunker-select.js';
import { scanCandidates, wasmChunkerLoaded } from './chunker-wasm.js';
import { randomPolynomial } from './polynomial.js';
import { initRepository, openRepository } from './repository.js';
import { shutdownWorkers } from './worker-pool.js';

function referenceCuts(pol: bigint, data: Buffer): number[] {
  const c = createChunker(pol);
  const cuts = c.push(data);
  const last = c.finish();
  return last ? [...cuts, last] : cuts;
}

/** Mixed data: random, a run of zeros and a short repeating pattern (dense candidates), text. */
function mixedData(): Buffer {
  return Buffer.concat([
    pseudoRandomBytes(3_500_000, 1),
    Buffer.alloc(9_000_000),
    Buffer.from('abcdefgh'.repeat(600_000)),
    pseudoRandomBytes(2_000_000, 2),
    Buffer.from('log line 42 GET /items 200\n'.repeat(80_000)),
  ]);
}

test('cuts picked from each block’s candidates are the reference chunker’s, for any block size', () => {
  const pol = randomPolynomial();
  const data = pseudoRandomBytes(12_000_000, 7);
  const want = referenceCuts(pol, data);
  assert.ok(want.length > 4);
  for (const blockSize of [100_003, 1 << 20, 3_000_000]) {
    for (const scan of ['js', 'kernel'] as const) {
      if (scan === 'kernel' && !wasmChunkerLoaded) continue;
      const sel = createCutSelector();
      const got: number[] = [];
      for (let off = 0; off < data.length; off += blockSize) {
        const block = data.subarray(off, off + blockSize);
        const context = data.subarray(Math.max(0, off - 63), off);
        const found =
          scan === 'js' ? cutCandidates(pol, block, context, Infinity) : scanCandidates(pol, block, context);
        assert.ok(found, 'random data has few candidates');
        got.push(...sel.next(found, block.length));
      }
      got.push(sel.pending());
      assert.deepEqual(got, want, `${scan} scan, blocks of ${blockSize}`);
    }
  }
});

test('the kernel finds the same candidates as the JavaScript reference, and gives up on zeros', () => {
  const pol = randomPolynomial();
  const block = pseudoRandomBytes(4_000_000, 3);
  const context = pseudoRandomBytes(63, 4);
  assert.deepEqual(scanCandidates(pol, block, context), cutCandidates(pol, block, context, Infinity));
  assert.equal(scanCandidates(pol, Buffer.alloc(1 << 20), Buffer.alloc(0)), undefined);
  // Candidates crowded into one of the kernel's lanes (zeros: every position is one):
  // it lists them all, as the reference does, or gives up (the caller then chunks in order).
  for (const zeros of [200, 300, 2000]) {
    const crowded = Buffer.concat([pseudoRandomBytes(1_500_000, 5), Buffer.alloc(zeros)]);
    const ref = cutCandidates(pol, crowded, context, 1008);
    const got = scanCandidates(pol, crowded, context);
    if (zeros === 200) assert.deepEqual(got, ref, 'room in the lane: the same list');
    else assert.ok(got === undefined || JSON.stringify(got) === JSON.stringify(ref), `${zeros} zeros`);
    if (zeros === 2000) assert.equal(got, undefined);
  }
  assert.equal(cutCandidates(pol, Buffer.alloc(1 << 20), Buffer.alloc(0), 1000), undefined);
});

test('saveChunked on worker threads stores the reference chunks of mixed and degenerate data', async () => {
  const dir = makeTempDir('chunk-select');
  try {
    const pol = randomPolynomial();
    await initRepository(localBackend(dir), Buffer.from('pw'), { scrypt: CHEAP_KDF, chunkerPolynomial: pol });
    const data = mixedData();
    const want = [];
    let at = 0;
    for (const n of referenceCuts(pol, data)) {
      want.push(blobId(data.subarray(at, at + n)));
      at += n;
    }
    for (const workers of [2, 0]) {
      const repo = await openRepository(localBackend(dir), Buffer.from('pw'), { workers });
      // Pieces of odd sizes, as a pipe or a file read gives them.
      const pieces = function* () {
        for (let off = 0, i = 0; off < data.length; i++) {
          const n = [65_536, 2 << 20, 777_777, 100][i % 4];
          yield Buffer.from(data.subarray(off, off + n));
          off += n;
        }
      };
      const { content, size } = await saveChunked(repo, pieces());
      await repo.flush();
      assert.equal(size, data.length);
      assert.deepEqual(content, want, `workers: ${workers}`);
    }
  } finally {
    await shutdownWorkers();
    removeDir(dir);
  }
});
