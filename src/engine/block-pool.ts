/**
 * Read blocks in shared memory, counted and reused. A large file or a stream is read into
 * these; the worker threads scan, hash and seal the chunks straight out of them (a chunk is
 * a list of views, so one that spans two blocks is never copied), and a block goes back to
 * the pool once every chunk that uses it is stored. Fresh memory costs a page fault per
 * 4 KiB here (about 10–30 µs each), so reusing a few megabytes of blocks spares a fault for
 * every 4 KiB backed up, and bounds the memory a backup holds.
 */

/**
 * 1 MiB: the blocks read ahead and being scanned are what a file's pipeline holds besides
 * the chunks in flight; 2 MiB blocks measured no faster and held about 12 MiB more.
 */
export const BLOCK_SIZE = 1024 * 1024;
/** Free blocks kept for reuse (more are left to the garbage collector). */
const KEEP = 32;

const free: SharedArrayBuffer[] = [];
const refs = new WeakMap<ArrayBufferLike, number>();

/** Free blocks kept now (tests watch the pool). */
export function freeBlocks(): number {
  return free.length;
}

/** Lets go of the free blocks (a long-running process between backups). */
export function drainBlockPool(): void {
  free.length = 0;
}

/** A block of BLOCK_SIZE bytes with one reference (its taker's). */
export function takeBlock(): Buffer {
  const mem = free.pop() ?? new SharedArrayBuffer(BLOCK_SIZE);
  refs.set(mem, 1);
  return Buffer.from(mem);
}

/** True when `b` is a view of a pool block. */
export function isPoolBlock(b: Uint8Array): boolean {
  return refs.has(b.buffer);
}

/** One more user of the block `b` views. */
export function retainBlock(b: Uint8Array): void {
  const n = refs.get(b.buffer);
  if (n === undefined || n <= 0) throw new Error('retainBlock: not a live pool block');
  refs.set(b.buffer, n + 1);
}

/** One user fewer; the last one returns the block to the pool. */
export function releaseBlock(b: Uint8Array): void {
  const n = refs.get(b.buffer);
  if (n === undefined || n <= 0) throw new Error('releaseBlock: not a live pool block');
  refs.set(b.buffer, n - 1);
  if (n === 1 && free.length < KEEP) free.push(b.buffer as SharedArrayBuffer);
}
