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
 * zstd of a blob's plaintext, given as its `parts` in order, written into `dst` when it is
 * smaller than the plaintext: returns its length, or undefined when it would not be smaller
 * (random or already compressed data is then stored as it is, which the format allows and
 * which spares decompression later). Written straight into the caller's memory (no buffer of
 * the blob's size here); parts are compressed as one stream, so they are never joined.
 */
export function zstdCompressInto(parts: readonly Uint8Array[], dst: Uint8Array): number | undefined {
  let total = 0;
  for (const p of parts) total += p.length;
  if (total < 2) return undefined; // nothing is smaller
  const room = dst.subarray(0, Math.min(dst.length, total - 1));
  const c = (cctx ??= new binding.CCtx());
  if (parts.length === 1) {
    try {
      return c.compress(room, parts[0], LEVEL);
    } catch {
      return undefined; // does not fit: not smaller
    }
  }
  c.reset(binding.ResetDirective.sessionOnly);
  c.setParameter(binding.CParameter.compressionLevel, LEVEL);
  c.setPledgedSrcSize(total); // the frame records its size, as the one-shot form does
  let at = 0;
  try {
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      let input = parts[i];
      for (;;) {
        const op = last ? binding.EndDirective.end : binding.EndDirective.continue;
        const [left, produced, consumed] = c.compressStream2(room.subarray(at), input, op);
        at += produced;
        input = input.subarray(consumed);
        if (last ? left === 0 : input.length === 0) break;
        if (at === room.length || (produced === 0 && consumed === 0)) throw new Error('not smaller');
      }
    }
  } catch {
    c.reset(binding.ResetDirective.sessionOnly);
    return undefined;
  }
  return at;
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
