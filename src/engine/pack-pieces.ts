/**
 * check --read-data of a pack read in pieces (a local pack file, on a worker thread): pieces
 * of about 2 MiB cut at blob boundaries, read one after the other into one reused buffer, so
 * a worker holds a piece rather than the whole pack (up to 24 MiB). The pack is hashed piece
 * by piece in file order, each piece's blobs are verified, and the header is checked from the
 * bytes after the last blob. Only a plain layout is done this way (blobs in file order, not
 * overlapping, followed by a header the rest of the file holds); for any other the result is
 * undefined and the caller verifies the pack whole, so the findings are always verifyPack's.
 */
import { createHash } from 'node:crypto';
import type { MasterKey } from './crypto.js';
import type { PackedBlob } from './pack.js';
import {
  headerProblem,
  holdsHeader,
  packHashProblem,
  type PackProblem,
  type PackVerdict,
  verifyBlobs,
} from './pack-verify.js';
import { profiled } from './profile.js';

/** Bytes read at once (a larger blob is read whole). */
export const PIECE_BYTES = 2 * 1024 * 1024;

/** Reads `length` bytes at `offset` (valid until the next read); a short read throws. */
export type RangeReader = (offset: number, length: number) => Buffer;

/** The blobs' indexes in file order when they lie one after the other inside the file, else undefined. */
function plainOrder(blobs: readonly PackedBlob[], size: number): number[] | undefined {
  const order = blobs.map((_, i) => i).sort((x, y) => blobs[x].offset - blobs[y].offset);
  let end = 0;
  for (const i of order) {
    const b = blobs[i];
    if (b.offset < end || b.length <= 0) return undefined;
    end = b.offset + b.length;
  }
  return end + 4 <= size ? order : undefined;
}

/** verifyPack of a pack of `size` bytes read through `read`, or undefined (verify it whole). */
export function verifyPackInPieces(
  key: MasterKey,
  id: string,
  size: number,
  blobs: readonly PackedBlob[],
  read: RangeReader,
): PackVerdict | undefined {
  const order = plainOrder(blobs, size);
  if (!order) return undefined;
  const hash = createHash('sha256');
  const found = new Map<number, PackProblem>(); // by blob index
  let pos = 0;
  for (let k = 0; k < order.length;) {
    // The next piece: blobs from k on while they fit PIECE_BYTES (at least one), with the
    // bytes between them.
    let j = k;
    const endOf = (i: number) => blobs[order[i]].offset + blobs[order[i]].length;
    while (j + 1 < order.length && endOf(j + 1) - pos <= PIECE_BYTES) j++;
    const end = endOf(j);
    const piece = read(pos, end - pos);
    profiled('hash', piece.length, () => hash.update(piece));
    const group = order.slice(k, j + 1);
    const shifted = group.map((i) => ({ ...blobs[i], offset: blobs[i].offset - pos }));
    const v = verifyBlobs(key, id, piece, shifted);
    v.bad.forEach((b, n) => found.set(group[b], v.problems[n]));
    pos = end;
    k = j + 1;
  }
  const tail = read(pos, size - pos);
  if (!holdsHeader(tail)) return undefined;
  profiled('hash', tail.length, () => hash.update(tail));
  const problems: PackProblem[] = [];
  for (const p of [packHashProblem(id, hash.digest('hex')), headerProblem(key, id, tail, blobs)])
    if (p) problems.push(p);
  const bad = [...found.keys()].sort((a, b) => a - b);
  return { problems: [...problems, ...bad.map((i) => found.get(i)!)], bad };
}
