/**
 * The fast path of check --read-data's blob verification: decides that a sealed blob is
 * intact (its MAC verifies, it decrypts, decompresses and hashes to its ID) without
 * allocating a buffer per blob. Decryption runs in small windows hashed or decompressed as
 * they come out, decompression streams into a small buffer reused from blob to blob (no
 * buffer of a blob's size, which cost a thread up to twice the largest blob), and one
 * AES-128 cipher per key derives every Poly1305 key. It only says yes or no: a blob it
 * rejects is opened again by blob-codec's openBlob, which finds and words the error, so a
 * damaged blob is reported exactly as before.
 */
import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import zstd from 'zstd-napi/binding.js';
import { type MasterKey, polyKeyOf } from './crypto.js';
import { poly1305 } from './poly1305.js';

const IV_LEN = 16;
const MAC_LEN = 16;
/** Bytes decrypted per call: small enough that the output comes from malloc's free lists. */
const WINDOW = 64 * 1024;

/** Decompressed bytes taken from zstd per call, into a buffer reused from blob to blob. */
const OUT_BYTES = 128 * 1024;

let out: Buffer | undefined;
const polyKey = Buffer.alloc(32);
let dctx: InstanceType<typeof zstd.DCtx> | undefined;

/** The Poly1305 key of a box, in one reused key buffer (polyKeyOf keeps one cipher per key). */
function macKeyOf(key: MasterKey, iv: Uint8Array): Buffer {
  return polyKeyOf(key, iv, undefined, polyKey);
}

/**
 * True when `sealed` (IV || ciphertext || MAC) authenticates under `key` and its plaintext,
 * decompressed when `uncompressedLength` > 0, has the SHA-256 `id`. False means "not proven":
 * the caller opens the blob the ordinary way to learn what is wrong.
 */
export function blobIsIntact(
  key: MasterKey,
  sealed: Buffer,
  uncompressedLength: number,
  id: string,
): boolean {
  if (sealed.length < IV_LEN + MAC_LEN) return false;
  const iv = sealed.subarray(0, IV_LEN);
  if (!iv.some((b) => b !== 0)) return false;
  const ct = sealed.subarray(IV_LEN, sealed.length - MAC_LEN);
  const mac = poly1305(ct, macKeyOf(key, iv));
  if (!timingSafeEqual(mac, sealed.subarray(sealed.length - MAC_LEN))) return false;
  const decipher = createDecipheriv('aes-256-ctr', key.encrypt, iv);
  const hash = createHash('sha256');
  if (uncompressedLength === 0) {
    for (let off = 0; off < ct.length; off += WINDOW)
      hash.update(decipher.update(ct.subarray(off, off + WINDOW)));
    return hash.digest('hex') === id;
  }
  // Streamed: each decrypted window goes to zstd, whose output is hashed piece by piece, so
  // no buffer of the blob's size is needed (its window is that of the frame: 512 KiB at the
  // level holdfast writes). The frame must end exactly with the ciphertext.
  const d = (dctx ??= new zstd.DCtx());
  const to = (out ??= Buffer.allocUnsafeSlow(OUT_BYTES));
  let total = 0;
  let status = -1;
  try {
    for (let off = 0; off < ct.length; off += WINDOW) {
      let input = decipher.update(ct.subarray(off, off + WINDOW));
      for (;;) {
        const [left, produced, consumed] = d.decompressStream(to, input);
        // A call that did nothing (the frame ended exactly as `to` filled, so one more call was
        // made to flush) reports on a next frame: keep the status of the last call that worked.
        if (consumed > 0 || produced > 0) status = left;
        total += produced;
        if (total > uncompressedLength) throw new Error('longer than announced');
        hash.update(to.subarray(0, produced));
        input = input.subarray(consumed);
        if (input.length === 0 && produced < to.length) break;
        if (consumed === 0 && produced === 0) throw new Error('no progress');
      }
    }
  } catch {
    dctx = undefined; // stopped inside a frame: the next blob starts with a fresh context
    return false;
  }
  if (status !== 0 || total !== uncompressedLength) {
    dctx = undefined;
    return false;
  }
  return hash.digest('hex') === id;
}
