/**
 * The per-blob work, as pure functions of the key: a blob's ID (SHA-256 of its plaintext),
 * sealing (zstd when asked and when it helps, then AES-256-CTR + Poly1305-AES) and opening
 * with verification.
 * Run inline or in a worker thread (blob-worker.ts); both give the same results.
 */
import { createHash } from 'node:crypto';
import { fail } from '../errors.js';
import { zstdCompressIfSmaller, zstdDecompress } from './compression.js';
import { type MasterKey, open, type SealedParts, sealInto, sealParts } from './crypto.js';
import type { PackedBlob } from './pack.js';
import { profiled } from './profile.js';

/** A sealed blob as its parts (IV, ciphertext, MAC), stored one after the other. */
export interface SealedBlob extends SealedParts {
  /** Plaintext length when compressed, else 0 (the pack header's field). */
  uncompressedLength: number;
}

/** Stored length of a sealed blob. */
export function sealedLength(s: SealedParts): number {
  return s.iv.length + s.ciphertext.length + s.mac.length;
}

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

/** zstd of a blob when that makes it smaller (a view of this thread's scratch buffer), else undefined. */
function packedOf(plaintext: Uint8Array): Buffer | undefined {
  if (plaintext.length === 0) return undefined;
  return profiled('compress', plaintext.length, () => zstdCompressIfSmaller(plaintext));
}

/** Compresses (when asked and when that makes it smaller), encrypts and authenticates a blob. */
export function sealBlob(key: MasterKey, plaintext: Uint8Array, compress: boolean): SealedBlob {
  const packed = compress ? packedOf(plaintext) : undefined;
  const payload = packed ?? plaintext;
  const parts = profiled('encrypt', payload.length, () => sealParts(key, payload));
  return { ...parts, uncompressedLength: packed ? plaintext.length : 0 };
}

/** A blob sealed into memory of the caller's: its stored length and its header field. */
export interface SealedInto {
  length: number;
  /** Plaintext length when compressed, else 0 (the pack header's field). */
  uncompressedLength: number;
}

/**
 * sealBlob written into `out` (which must hold plaintext.length + SEAL_OVERHEAD bytes: a blob
 * is compressed only when that makes it smaller), as the blob is stored in a pack.
 */
export function sealBlobInto(
  key: MasterKey,
  plaintext: Uint8Array,
  compress: boolean,
  out: Uint8Array,
): SealedInto {
  const packed = compress ? packedOf(plaintext) : undefined;
  const payload = packed ?? plaintext;
  const length = profiled('encrypt', payload.length, () => sealInto(key, payload, out));
  return { length, uncompressedLength: packed ? plaintext.length : 0 };
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
