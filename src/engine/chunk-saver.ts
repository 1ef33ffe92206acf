/**
 * Turns a byte stream into content-defined chunks and stores each as a data blob;
 * returns the blob IDs in order and the number of bytes read. Shared by file and stream
 * backups so both chunk exactly as restic does. Chunks are handed to the repository without
 * waiting for each to be stored, only for its ID (the repository's back-pressure bounds what
 * is in flight; its flush() reports a failed store before any snapshot is written).
 */
import { createFastChunker } from './chunker-wasm.js';
import { profiled } from './profile.js';
import type { Repository } from './repository.js';

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

export async function saveChunked(
  repo: Repository,
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  onBytes?: (n: number) => void,
): Promise<ChunkedContent> {
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
