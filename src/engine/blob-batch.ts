/**
 * Sealing many small blobs at once (whole small files): their plaintexts lie one after the
 * other in one buffer, and the sealed blobs are written one after the other into another,
 * exactly as they are stored in a pack. The caller reuses both buffers (shared memory when a
 * worker seals), since fresh memory costs a page fault per 4 KiB here. One worker message per batch instead of one per blob
 * (a message costs tens of microseconds, as much as sealing a small file), and one append to
 * the pack. Run inline or in a worker thread (blob-worker.ts); both give the same layout.
 */
import { sealBlobInto } from './blob-codec.js';
import type { MasterKey } from './crypto.js';
import { SEAL_OVERHEAD } from './crypto.js';

/** A blob's plaintext inside a batch buffer. */
export interface BatchSlice {
  at: number;
  length: number;
}

export interface SealedBatch {
  /** Bytes written to the output: the sealed blobs, one after the other. */
  size: number;
  /** Each blob's stored length, in order. */
  lengths: number[];
  /** Each blob's plaintext length when it was compressed, else 0 (the pack header's field). */
  uncompressed: number[];
}

/** Output room a batch needs: a blob is compressed only when that makes it smaller. */
export function sealedBound(slices: readonly BatchSlice[]): number {
  let bound = 0;
  for (const s of slices) bound += s.length + SEAL_OVERHEAD;
  return bound;
}

/** Seals `slices` of `data` into `out` (at least sealedBound long). */
export function sealBatch(
  key: MasterKey,
  data: Uint8Array,
  slices: readonly BatchSlice[],
  compress: boolean,
  out: Uint8Array,
): SealedBatch {
  if (out.length < sealedBound(slices)) throw new RangeError('sealBatch: output buffer too small');
  const lengths: number[] = [];
  const uncompressed: number[] = [];
  let pos = 0;
  for (const s of slices) {
    const plain = data.subarray(s.at, s.at + s.length);
    const b = sealBlobInto(key, plain, compress, out.subarray(pos));
    pos += b.length;
    lengths.push(b.length);
    uncompressed.push(b.uncompressedLength);
  }
  return { size: pos, lengths, uncompressed };
}
