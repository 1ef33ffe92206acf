/**
 * The per-blob work, as pure functions of the key: a blob's ID (SHA-256 of its plaintext),
 * sealing (zstd when asked and when it helps, then AES-256-CTR + Poly1305-AES) and opening
 * with verification.
 * Run inline or in a worker thread (blob-worker.ts); both give the same results.
 */
import { createHash } from 'node:crypto';
import { fail } from '../errors.js';
import { zstdCompressInto, zstdDecompress } from './compression.js';
import { IV_LEN, type MasterKey, open, sealInPlace } from './crypto.js';
import type { PackedBlob } from './pack.js';
import { profiled } from './profile.js';

/** Where a sealed blob came from, for verification and messages. */
export interface BlobOrigin extends Pick<PackedBlob, 'type' | 'id' | 'uncompressedLength'> {
  packId: string;
}

/** A blob's ID: the SHA-256 of its plaintext, given whole or as its parts in order. */
export function blobId(plaintext: Uint8Array | readonly Uint8Array[]): string {
  if (!Array.isArray(plaintext)) {
    const p = plaintext as Uint8Array;
    return profiled('hash', p.length, () => createHash('sha256').update(p).digest('hex'));
  }
  const parts = plaintext as readonly Uint8Array[];
  return profiled(
    'hash',
    parts.reduce((n, p) => n + p.length, 0),
    () => {
      const h = createHash('sha256');
      for (const p of parts) h.update(p);
      return h.digest('hex');
    },
  );
}

/** A sealed blob as written into memory of the caller's: its stored length and its header field. */
export interface SealedInto {
  length: number;
  /** Plaintext length when compressed, else 0 (the pack header's field). */
  uncompressedLength: number;
}

/**
 * Compresses (when asked and when that makes it smaller), encrypts and authenticates a blob
 * whose plaintext is `plaintext` (one buffer, or its parts in order), writing it into `out`
 * as it is stored in a pack: `out` must hold the plaintext's length + SEAL_OVERHEAD bytes.
 * Compressed straight into `out` and encrypted there in place.
 */
export function sealBlobInto(
  key: MasterKey,
  plaintext: Uint8Array | readonly Uint8Array[],
  compress: boolean,
  out: Uint8Array,
): SealedInto {
  const parts = Array.isArray(plaintext) ? (plaintext as readonly Uint8Array[]) : [plaintext as Uint8Array];
  let plainLength = 0;
  for (const p of parts) plainLength += p.length;
  const body = out.subarray(IV_LEN);
  const packed = compress
    ? profiled('compress', plainLength, () => zstdCompressInto(parts, body))
    : undefined;
  let n = packed ?? 0;
  if (packed === undefined)
    for (const p of parts) {
      body.set(p, n); // stored as it is
      n += p.length;
    }
  const length = profiled('encrypt', n, () => sealInPlace(key, out, n));
  return { length, uncompressedLength: packed === undefined ? 0 : plainLength };
}

/** Opens a sealed blob and checks that it hashes to its ID. A damaged blob is an INTEGRITY error. */
export function openBlob(key: MasterKey, loc: BlobOrigin, sealed: Uint8Array): Buffer {
  const what = `damaged ${loc.type} blob ${loc.id} in pack ${loc.packId}`;
  let plain = profiled('decrypt', sealed.length, () => open(key, sealed, what));
  if (loc.uncompressedLength > 0) {
    const compressed = plain;
    plain = profiled('decompress', loc.uncompressedLength, () => zstdDecompress(compressed, what));
  }
  if (blobId(plain) !== loc.id) fail('INTEGRITY', `${what}: content does not match its ID`);
  return plain;
}
