/**
 * The fast path of check --read-data's blob verification: decides that a sealed blob is
 * intact (its MAC verifies, it decrypts, decompresses and hashes to its ID) without
 * allocating a buffer per blob. Decryption runs in small windows hashed or gathered as they
 * come out, decompression writes into a scratch buffer reused from blob to blob, and one
 * AES-128 cipher per key derives every Poly1305 key. It only says yes or no: a blob it
 * rejects is opened again by blob-codec's openBlob, which finds and words the error, so a
 * damaged blob is reported exactly as before.
 */
import { type Cipher, createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import zstd from 'zstd-napi/binding.js';
import { macCipherOf, type MasterKey, polyKeyOf } from './crypto.js';
import { poly1305 } from './poly1305.js';

const IV_LEN = 16;
const MAC_LEN = 16;
/** Bytes decrypted per call: small enough that the output comes from malloc's free lists. */
const WINDOW = 64 * 1024;

/** Scratch space of one thread: grows to the largest blob seen, then is reused. */
let compressed: Buffer = Buffer.allocUnsafeSlow(0);
let plain: Buffer = Buffer.allocUnsafeSlow(0);
const polyKey = Buffer.alloc(32);
let dctx: InstanceType<typeof zstd.DCtx> | undefined;
let macCipher: { key: MasterKey; aes: Cipher } | undefined;

/** The scratch buffers are dropped after a second unused: a worker thread outlives the check. */
const release = setTimeout(() => {
  compressed = Buffer.allocUnsafeSlow(0);
  plain = compressed;
}, 1000).unref();

/** `buf` when it holds `size` bytes, else a new buffer of `size` rounded up to 1 MiB. */
function grown(buf: Buffer, size: number): Buffer {
  const MiB = 1024 * 1024;
  release.refresh();
  return buf.length >= size ? buf : Buffer.allocUnsafeSlow(Math.ceil(size / MiB) * MiB);
}

/** The Poly1305 key of a box, with one AES-128 cipher per key and one reused key buffer. */
function macKeyOf(key: MasterKey, iv: Uint8Array): Buffer {
  if (macCipher?.key !== key) macCipher = { key, aes: macCipherOf(key) };
  return polyKeyOf(key, iv, macCipher.aes, polyKey);
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
  if (uncompressedLength === 0) {
    const hash = createHash('sha256');
    for (let off = 0; off < ct.length; off += WINDOW)
      hash.update(decipher.update(ct.subarray(off, off + WINDOW)));
    return hash.digest('hex') === id;
  }
  // Gathered, then decompressed in one call: zstd then writes straight into `plain`
  // (streaming would decode into its own window buffer and copy out of it).
  compressed = grown(compressed, ct.length);
  for (let off = 0; off < ct.length; off += WINDOW)
    compressed.set(decipher.update(ct.subarray(off, off + WINDOW)), off);
  plain = grown(plain, uncompressedLength);
  dctx ??= new zstd.DCtx();
  let n: number;
  try {
    n = dctx.decompress(plain.subarray(0, uncompressedLength), compressed.subarray(0, ct.length));
  } catch {
    return false;
  }
  return createHash('sha256').update(plain.subarray(0, n)).digest('hex') === id;
}
