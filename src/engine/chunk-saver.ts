/**
 * Turns a byte stream into content-defined chunks and stores each as a data blob;
 * returns the blob IDs in order and the number of bytes read. Shared by file and stream
 * backups so both chunk exactly as restic does. The stream is held in pool blocks
 * (block-pool.ts); each block's candidate cuts are found apart, on the worker threads when
 * there are any (several blocks at once), and the cuts are picked in order
 * (chunker-select.ts). A chunk is a list of views of the blocks, never a copy. Chunks are
 * handed to the repository without waiting for each to be stored, only for its ID (the
 * repository's back-pressure bounds what is in flight; its flush() reports a failed store
 * before any snapshot is written).
 */
import { BLOCK_SIZE, isPoolBlock, releaseBlock, retainBlock, takeBlock } from './block-pool.js';
import { createFastChunker } from './chunker-wasm.js';
import { createCutSelector } from './chunker-select.js';
import { collectGarbageEvery } from './gc-hint.js';
import type { Repository } from './repository.js';

export interface ChunkedContent {
  content: string[];
  size: number;
}

/**
 * The stream's bytes not yet cut, as views of pool blocks; the queue holds one reference to
 * each block until its last byte is taken.
 */
function blockQueue() {
  let parts: Buffer[] = [];
  return {
    push(b: Buffer) {
      parts.push(b);
    },
    /** The bytes queued, in order (not copied). */
    parts: () => parts,
    /** The next `n` bytes as views; each view holds a reference to its block. */
    take(n: number): Buffer[] {
      const out: Buffer[] = [];
      while (n > 0) {
        const head = parts[0];
        const want = Math.min(head.length, n);
        const view = head.subarray(0, want);
        retainBlock(view);
        out.push(view);
        n -= want;
        if (want < head.length) parts[0] = head.subarray(want);
        else {
          parts.shift();
          releaseBlock(head);
        }
      }
      return out;
    },
    /** Drops what is queued (the stream failed). */
    clear() {
      for (const p of parts) releaseBlock(p);
      parts = [];
    },
  };
}

/** Blocks being scanned at once, ahead of the cuts. */
const SCANS_AHEAD = 3;
/** Bytes of context a block's scan needs: the fingerprint's window less one. */
const CONTEXT = 63;

/**
 * A stream's own buffers (Node's streams give a fresh one per read: process.stdin from a file,
 * a download) are dead once copied into a block, but live outside the heap until a
 * collection: collected every 4 MiB, a 1 GB pg_dump read through Node's pipe measured
 * 10–15 MiB less peak RSS. Command output and piped stdin arrive as pool blocks instead
 * (sources/socket-blocks.ts) and are not copied.
 */
const copiedTurnover = collectGarbageEvery(4 * 1024 * 1024);

/** The stream as pool blocks: pool blocks pass as they are, other buffers are copied into blocks. */
async function* poolBlocks(source: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<Buffer> {
  let block: Buffer | undefined;
  let used = 0;
  try {
    for await (const buf of source) {
      if (buf.length === 0) continue;
      if (isPoolBlock(buf)) {
        if (block) yield block.subarray(0, used);
        block = undefined;
        yield buf;
        continue;
      }
      copiedTurnover(buf.length);
      for (let at = 0; at < buf.length;) {
        if (!block) {
          block = takeBlock();
          used = 0;
        }
        const n = buf.copy(block, used, at);
        used += n;
        at += n;
        if (used === BLOCK_SIZE) {
          yield block;
          block = undefined;
        }
      }
    }
    if (block) yield block.subarray(0, used);
    block = undefined;
  } finally {
    if (block) releaseBlock(block);
  }
}

export async function saveChunked(
  repo: Repository,
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  onBytes?: (n: number) => void,
): Promise<ChunkedContent> {
  const pol = repo.config.chunkerPolynomial;
  const selector = createCutSelector();
  const queue = blockQueue();
  const results: Promise<string>[] = [];
  const scans: Promise<{ block: Buffer; candidates: number[] | undefined }>[] = [];
  let context = Buffer.alloc(0);
  let size = 0;
  const submit = async (cuts: readonly number[]) => {
    for (const n of cuts) {
      const parts = queue.take(n);
      const release = () => parts.forEach(releaseBlock);
      try {
        const { id, done } = await repo.submitBlob('data', parts);
        void done.then(release, release);
        results.push(id);
      } catch (err) {
        release();
        throw err;
      }
    }
  };
  const settle = async (scan: Promise<{ block: Buffer; candidates: number[] | undefined }>) => {
    const { block, candidates } = await scan;
    queue.push(block);
    if (candidates) return submit(selector.next(candidates, block.length));
    // Too many candidates to list (degenerate data): chunk in order from the current chunk's start.
    const inOrder = createFastChunker(pol);
    const cuts = queue.parts().flatMap((p) => inOrder.push(p));
    selector.nextInOrder(cuts, block.length);
    return submit(cuts);
  };
  const scanned = (block: Buffer, before: Buffer) =>
    repo.scanCandidates(block, before).then(
      (candidates) => ({ block, candidates }),
      (err: unknown) => {
        releaseBlock(block);
        throw err;
      },
    );
  try {
    for await (const block of poolBlocks(source)) {
      size += block.length;
      const scan = scanned(block, context);
      scan.catch(() => undefined); // settled in order below
      scans.push(scan);
      context = Buffer.concat([context, block.subarray(-CONTEXT)]).subarray(-CONTEXT);
      onBytes?.(block.length);
      if (scans.length > SCANS_AHEAD) await settle(scans.shift()!);
    }
    while (scans.length > 0) await settle(scans.shift()!);
    const last = selector.pending();
    if (last > 0) await submit([last]);
  } finally {
    // Settle what was started even when reading failed, so no store is left unobserved.
    await Promise.allSettled([...scans, ...results]);
    queue.clear();
  }
  const content = await Promise.all(results);
  return { content, size };
}
