/**
 * Pack files: sealed blobs followed by a sealed header listing them and the header's length
 * (restic-format.md §5). Building a pack is pure; reading one parses its trailing header.
 */
import { createHash } from 'node:crypto';
import { fail } from '../errors.js';
import { type MasterKey, open, seal, SEAL_OVERHEAD } from './crypto.js';

export type BlobType = 'data' | 'tree';

/** A blob as stored in a pack: its position and lengths. */
export interface PackedBlob {
  type: BlobType;
  id: string;
  offset: number;
  /** Sealed length (payload + 32). */
  length: number;
  /** Plaintext length for compressed blobs; 0 when stored uncompressed. */
  uncompressedLength: number;
}

const MAX_HEADER = 16 * 1024 * 1024;

export function headerEntrySize(b: Pick<PackedBlob, 'uncompressedLength'>): number {
  return b.uncompressedLength > 0 ? 41 : 37;
}

/** The exact file size of a pack holding `blobs` (used by check). */
export function packSize(blobs: readonly PackedBlob[]): number {
  let size = SEAL_OVERHEAD + 4;
  for (const b of blobs) size += b.length + headerEntrySize(b);
  return size;
}

function typeByte(b: PackedBlob): number {
  const compressed = b.uncompressedLength > 0;
  return (b.type === 'data' ? 0 : 1) + (compressed ? 2 : 0);
}

export function encodeHeader(blobs: readonly PackedBlob[]): Buffer {
  const size = blobs.reduce((n, b) => n + headerEntrySize(b), 0);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const b of blobs) {
    out[pos++] = typeByte(b);
    out.writeUInt32LE(b.length, pos);
    pos += 4;
    if (b.uncompressedLength > 0) {
      out.writeUInt32LE(b.uncompressedLength, pos);
      pos += 4;
    }
    out.write(b.id, pos, 'hex');
    pos += 32;
  }
  return out;
}

export function decodeHeader(plain: Buffer, what: string): PackedBlob[] {
  const blobs: PackedBlob[] = [];
  let pos = 0;
  let offset = 0;
  while (pos < plain.length) {
    const t = plain[pos];
    if (t > 3) fail('INTEGRITY', `${what}: invalid blob type ${t} in pack header`);
    const compressed = t >= 2;
    const need = compressed ? 41 : 37;
    if (pos + need > plain.length) fail('INTEGRITY', `${what}: truncated pack header`);
    const length = plain.readUInt32LE(pos + 1);
    const uncompressedLength = compressed ? plain.readUInt32LE(pos + 5) : 0;
    const id = plain.toString('hex', pos + need - 32, pos + need);
    blobs.push({ type: t % 2 === 0 ? 'data' : 'tree', id, offset, length, uncompressedLength });
    offset += length;
    pos += need;
  }
  return blobs;
}

/** Assembles a pack from already-sealed blobs; returns its bytes and ID. */
export function assemblePack(
  key: MasterKey,
  sealedBlobs: readonly Buffer[],
  blobs: readonly PackedBlob[],
): { id: string; bytes: Buffer } {
  const header = seal(key, encodeHeader(blobs));
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32LE(header.length, 0);
  const bytes = Buffer.concat([...sealedBlobs, header, len]);
  return { id: createHash('sha256').update(bytes).digest('hex'), bytes };
}

/** Reads a pack's header from its tail. `loadTail(n)` returns the last n bytes of the pack. */
export async function readPackHeader(
  key: MasterKey,
  packId: string,
  size: number,
  loadTail: (n: number) => Promise<Buffer>,
): Promise<PackedBlob[]> {
  const what = `pack ${packId.slice(0, 8)}`;
  if (size < 73) fail('INTEGRITY', `${what}: file too short (${size} bytes)`);
  // Guess a tail large enough for most headers, so one read usually suffices.
  const guess = Math.min(size, 16 * 1024);
  let tail = await loadTail(guess);
  const hlen = tail.readUInt32LE(tail.length - 4);
  if (hlen < SEAL_OVERHEAD || hlen > size - 4 || hlen > MAX_HEADER) {
    fail('INTEGRITY', `${what}: invalid header length ${hlen}`);
  }
  if (hlen + 4 > tail.length) tail = await loadTail(hlen + 4);
  const sealed = tail.subarray(tail.length - 4 - hlen, tail.length - 4);
  const blobs = decodeHeader(open(key, sealed, `${what} header`), what);
  if (packSize(blobs) !== size) fail('INTEGRITY', `${what}: header does not match the file size`);
  return blobs;
}
