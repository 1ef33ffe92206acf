/**
 * The pool of shared read blocks (block-pool.ts): a block comes back only when its last user
 * lets go, is then handed out again (the same memory), and a wrong release is an error, not
 * a silent reuse of memory still in use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BLOCK_SIZE,
  drainBlockPool,
  freeBlocks,
  isPoolBlock,
  releaseBlock,
  retainBlock,
  takeBlock,
} from './block-pool.js';

test('a block is reused only after every view of it is released', () => {
  drainBlockPool();
  const a = takeBlock();
  assert.equal(a.length, BLOCK_SIZE);
  assert.ok(isPoolBlock(a) && isPoolBlock(a.subarray(10, 20)));
  assert.ok(!isPoolBlock(Buffer.alloc(10)));
  const chunk = a.subarray(100, 200);
  retainBlock(chunk);
  releaseBlock(a); // the reader is done; the chunk still uses the block
  assert.equal(freeBlocks(), 0);
  const b = takeBlock();
  assert.notEqual(b.buffer, a.buffer, 'a block in use is not handed out');
  releaseBlock(chunk);
  assert.equal(freeBlocks(), 1);
  assert.equal(takeBlock().buffer, a.buffer, 'a free block is handed out again');
  assert.throws(() => releaseBlock(Buffer.alloc(4)), /not a live pool block/);
  releaseBlock(b);
  assert.throws(() => releaseBlock(b), /not a live pool block/);
  drainBlockPool();
  assert.equal(freeBlocks(), 0);
});
