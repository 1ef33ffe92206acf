/**
 * Turns a byte stream into content-defined chunks and stores each as a data blob;
 * returns the blob IDs in order and the number of bytes read. Shared by file and stream
 * backups so both chunk exactly as restic does. Chunks are handed to the repository without
 * waiting for each to be stored, only for its ID (the repository's back-pressure bounds what
 * is in flight; its flush() reports a failed store before any snapshot is written).
 */
import { createFastChunker } from './chunker-wasm.js';
import { createCutSelector } from './chunker-select.js';
import { profiled } from './profile.js';
import type { Repository, ScannedBlock } from './repository.js';

export interface ChunkedContent {
  content: string[];
  size: number;
}

const ownsBuffer = (b: Buffer) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;

/** Collects incoming buffers and hands out exact-length chunks, each owning its memory. */
function byteQueue() {
  let parts: Buffer[] = [];
  let length = 0;
  return {
    push(b: Buffer) {
      parts.push(b);
      length += b.length;
    },
    /** The bytes queued, in order (not copied). */
    parts: () => parts,
    take(n: number): Buffer {
      let out: Buffer;
      if (parts[0].length === n && ownsBuffer(parts[0])) out = parts.shift() as Buffer;
      else {
        out = Buffer.allocUnsafeSlow(n);
        let pos = 0;
        while (pos < n) {
          const head = parts[0];
          const want = Math.min(head.length, n - pos);
          head.copy(out, pos, 0, want);
          pos += want;
          if (want === head.length) parts.shift();
          else parts[0] = head.subarray(want);
        }
      }
      length -= n;
      if (length === 0) parts = [];
      return out;
    },
  };
}

/** Blocks smaller than this are gathered before a scan (a job costs tens of microseconds). */
const SCAN_BLOCK = 1024 * 1024;
/** Blocks being scanned at once, ahead of the cuts. */
const SCANS_AHEAD = 3;
/** Bytes of context a block's scan needs: the fingerprint's window less one. */
const CONTEXT = 63;

/** Regroups a stream into owned blocks of at least SCAN_BLOCK bytes (the last may be smaller). */
async function* scanBlocks(source: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const buf of source) {
    if (buf.length === 0) continue;
    if (length === 0 && buf.length >= SCAN_BLOCK && ownsBuffer(buf)) {
      yield buf;
      continue;
    }
    parts.push(buf);
    length += buf.length;
    if (length < SCAN_BLOCK) continue;
    yield Buffer.concat(parts, length);
    parts = [];
    length = 0;
  }
  if (length > 0) yield Buffer.concat(parts, length);
}

/**
 * saveChunked with the chunker's scan on the worker threads: each block's candidate cuts are
 * found apart (several blocks at once), then the cuts are picked in order (chunker-select.ts).
 * A block with too many candidates (degenerate data) is chunked in order on this thread.
 */
async function saveChunkedOnWorkers(
  repo: Repository,
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  onBytes?: (n: number) => void,
): Promise<ChunkedContent> {
  const pol = repo.config.chunkerPolynomial;
  const selector = createCutSelector();
  const queue = byteQueue();
  const results: Promise<string>[] = [];
  const scans: Promise<ScannedBlock>[] = [];
  let context = Buffer.alloc(0);
  let size = 0;
  const submit = async (cuts: readonly number[]) => {
    for (const n of cuts) results.push((await repo.submitBlob('data', queue.take(n), { owned: true })).id);
  };
  const settle = async (scan: Promise<ScannedBlock>) => {
    const { candidates, block } = await scan;
    queue.push(block);
    if (candidates) return submit(selector.next(candidates, block.length));
    const inOrder = createFastChunker(pol); // starts where the current chunk starts
    const cuts = queue.parts().flatMap((p) => inOrder.push(p));
    selector.nextInOrder(cuts, block.length);
    return submit(cuts);
  };
  try {
    for await (const block of scanBlocks(source)) {
      const length = block.length; // the block moves to a worker
      size += length;
      const before = context;
      context = Buffer.concat([context, block.subarray(-CONTEXT)]).subarray(-CONTEXT);
      const scan = repo.scanCandidates(block, before);
      scan.catch(() => undefined); // settled in order below
      scans.push(scan);
      onBytes?.(length);
      if (scans.length > SCANS_AHEAD) await settle(scans.shift()!);
    }
    while (scans.length > 0) await settle(scans.shift()!);
    const last = selector.pending();
    if (last > 0) await submit([last]);
  } finally {
    // Settle what was started even when reading failed, so no store is left unobserved.
    await Promise.allSettled([...scans, ...results]);
  }
  const content = await Promise.all(results);
  return { content, size };
}

export async function saveChunked(
  repo: Repository,
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  onBytes?: (n: number) => void,
): Promise<ChunkedContent> {
  if (repo.workerCount > 0) return saveChunkedOnWorkers(repo, source, onBytes);
  const chunker = createFastChunker(repo.config.chunkerPolynomial);
  const queue = byteQueue();
  const results: Promise<string>[] = [];
  const submit = async (n: number) =>
    results.push((await repo.submitBlob('data', queue.take(n), { owned: true })).id);
  let size = 0;
  try {
    for await (const buf of source) {
      if (buf.length === 0) continue;
      size += buf.length;
      queue.push(buf);
      for (const n of profiled('chunk', buf.length, () => chunker.push(buf))) await submit(n);
      onBytes?.(buf.length);
    }
    const last = chunker.finish();
    if (last) await submit(last);
  } finally {
    // Settle what was started even when reading failed, so no store is left unobserved.
    await Promise.allSettled(results);
  }
  const content = await Promise.all(results);
  return { content, size };
}
