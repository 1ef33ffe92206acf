/**
 * check --read-data of a pack in pieces cut at blob boundaries (planPieces; check-read.ts
 * plans the pieces it reads into its ring the same way). A worker verifying a local pack file
 * reads pieces of about 2 MiB one after the other into one reused buffer, so it holds a piece
 * rather than the whole pack (up to 24 MiB): the pack is hashed piece by piece in file order,
 * each piece's blobs are verified, and the header is checked from the end of the last piece.
 * Only a plain layout is done this way (blobs back to back from the start, then the header);
 * for any other the result is undefined and the caller verifies the pack whole, so the
 * findings are always verifyPack's.
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

/** Part of a pack read in one load: [start, end), and the blobs wholly inside it. */
export interface Piece {
  start: number;
  end: number;
  /** Indexes into the pack's blob list, with offsets relative to `start`. */
  blobs: { index: number; blob: PackedBlob }[];
}

/**
 * Cuts a pack of `size` bytes into pieces of about `target` bytes at blob boundaries, the
 * header in the last one; undefined unless the blobs lie back to back from offset 0 (then the
 * pack is verified whole).
 */
export function planPieces(blobs: readonly PackedBlob[], size: number, target: number): Piece[] | undefined {
  const order = blobs.map((blob, index) => ({ index, blob })).sort((a, b) => a.blob.offset - b.blob.offset);
  const pieces: Piece[] = [];
  let cur: Piece = { start: 0, end: 0, blobs: [] };
  for (const { index, blob } of order) {
    if (blob.offset !== cur.end) return undefined;
    if (cur.blobs.length > 0 && cur.end + blob.length - cur.start > target) {
      pieces.push(cur);
      cur = { start: cur.end, end: cur.end, blobs: [] };
    }
    cur.blobs.push({ index, blob: { ...blob, offset: blob.offset - cur.start } });
    cur.end += blob.length;
  }
  if (cur.end > size - 4) return undefined;
  cur.end = size;
  pieces.push(cur);
  return pieces;
}

/** verifyPack of a pack of `size` bytes read through `read`, or undefined (verify it whole). */
export function verifyPackInPieces(
  key: MasterKey,
  id: string,
  size: number,
  blobs: readonly PackedBlob[],
  read: RangeReader,
): PackVerdict | undefined {
  const pieces = planPieces(blobs, size, PIECE_BYTES);
  if (!pieces) return undefined;
  const hash = createHash('sha256');
  const verdicts: { piece: Piece; verdict: PackVerdict }[] = [];
  let header: PackProblem | undefined;
  for (const [k, piece] of pieces.entries()) {
    const bytes = read(piece.start, piece.end - piece.start);
    profiled('hash', bytes.length, () => hash.update(bytes));
    const blobsOfPiece = piece.blobs.map((b) => b.blob);
    verdicts.push({ piece, verdict: verifyBlobs(key, id, bytes, blobsOfPiece) });
    if (k === pieces.length - 1) {
      // The header is read from the end of the last piece: where that does not hold all the
      // header its length announces, the whole pack words the finding.
      if (!holdsHeader(bytes)) return undefined;
      header = headerProblem(key, id, bytes, blobs);
    }
  }
  return combinePieceVerdicts([packHashProblem(id, hash.digest('hex')), header], verdicts);
}

/**
 * The pack's verdict from its own findings (hash, header; undefined where none) and its
 * pieces' verdicts: blob findings in blob order after the pack's, as verifyPack gives them.
 */
export function combinePieceVerdicts(
  own: (PackProblem | undefined)[],
  pieces: readonly { piece: Piece; verdict: PackVerdict }[],
): PackVerdict {
  const failed: { index: number; problem: PackProblem }[] = [];
  for (const { piece, verdict } of pieces)
    verdict.bad.forEach((j, n) => failed.push({ index: piece.blobs[j].index, problem: verdict.problems[n] }));
  failed.sort((a, b) => a.index - b.index);
  const problems = own.filter((p): p is PackProblem => p !== undefined);
  return { problems: [...problems, ...failed.map((f) => f.problem)], bad: failed.map((f) => f.index) };
}
