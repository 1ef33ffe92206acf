/**
 * zstd compression as restic v2 uses it: data and tree blobs, and the 0x02-prefixed
 * "unpacked" files (snapshots, index, locks). See restic-format.md §4.3 and §5.1.
 */
import { compress, decompress } from 'zstd-napi';
import binding from 'zstd-napi/binding.js';
import { fail } from '../errors.js';

/**
 * zstd level 1 (restic's "auto" uses klauspost's SpeedDefault, nominally like level 3). On
 * blob-sized inputs (0.5–8 MiB) level 1 measured 2–3.5 times faster than level 3 here with
 * about the same ratio (pg_dump text: 3.21 vs 3.13; bench/RESULTS.md), and compression was the
 * slowest stage of a backup. Any level decompresses the same, so this changes nothing else.
 */
const LEVEL = 1;

export function zstdCompress(data: Uint8Array): Buffer {
  return compress(data, { compressionLevel: LEVEL });
}

let cctx: InstanceType<typeof binding.CCtx> | undefined;
/**
 * The scratch buffer's size: room for the largest chunk (8 MiB) at once, since a buffer
 * regrown step by step left each old one allocated until a full collection. Only the pages
 * written are touched.
 */
const SCRATCH_BYTES = binding.compressBound(8 * 1024 * 1024);
let scratch = Buffer.alloc(0);

/**
 * zstd of `data` when that is smaller, else undefined (random or already compressed data is
 * then stored as it is, which the format allows and which spares decompression later). The
 * result is a view of a scratch buffer this thread reuses: use it before the next call. Reusing
 * it spares a fresh allocation per blob, and fresh memory costs a page fault every 4 KiB.
 */
export function zstdCompressIfSmaller(data: Uint8Array): Buffer | undefined {
  const bound = binding.compressBound(data.length);
  if (scratch.length < bound) scratch = Buffer.allocUnsafeSlow(Math.max(bound, SCRATCH_BYTES));
  cctx ??= new binding.CCtx();
  const n = cctx.compress(scratch, data, LEVEL);
  return n < data.length ? scratch.subarray(0, n) : undefined;
}

export function zstdDecompress(data: Uint8Array, what = 'data'): Buffer {
  try {
    return decompress(data);
  } catch (err) {
    return fail('INTEGRITY', `${what}: cannot decompress (${(err as Error).message})`, err);
  }
}

/** Plaintext of an unpacked file in a v2 repository: 0x02 || zstd(json). */
export function encodeUnpacked(json: Buffer, version: number): Buffer {
  if (version < 2) return json;
  return Buffer.concat([Buffer.from([2]), zstdCompress(json)]);
}

/** Reverses encodeUnpacked; accepts raw JSON (v1 style) too. */
export function decodeUnpacked(plain: Buffer, what: string): Buffer {
  if (plain.length === 0) return plain;
  const first = plain[0];
  if (first === 0x7b || first === 0x5b) return plain;
  if (first === 2) return zstdDecompress(plain.subarray(1), what);
  return fail('INTEGRITY', `${what}: not supported encoding format ${first}`);
}
