/**
 * Turns a byte stream into content-defined chunks and stores each as a data blob;
 * returns the blob IDs in order and the number of bytes read. Shared by file and stream
 * backups so both chunk exactly as restic does.
 */
import { createChunker } from './chunker.js';
import type { Repository } from './repository.js';

export interface ChunkedContent {
  content: string[];
  size: number;
}

/** Collects incoming buffers and hands out exact-length chunks. */
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
      if (parts[0].length === n) out = parts.shift() as Buffer;
      else if (parts[0].length > n) {
        out = parts[0].subarray(0, n);
        parts[0] = parts[0].subarray(n);
      } else {
        out = Buffer.allocUnsafe(n);
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
  source: AsyncIterable<Buffer>,
  onBytes?: (n: number) => void,
): Promise<ChunkedContent> {
  const chunker = createChunker(repo.config.chunkerPolynomial);
  const queue = byteQueue();
  const content: string[] = [];
  let size = 0;
  for await (const buf of source) {
    if (buf.length === 0) continue;
    size += buf.length;
    queue.push(buf);
    for (const n of chunker.push(buf)) content.push((await repo.saveBlob('data', queue.take(n))).id);
    onBytes?.(buf.length);
  }
  const last = chunker.finish();
  if (last) content.push((await repo.saveBlob('data', queue.take(last))).id);
  return { content, size };
}
