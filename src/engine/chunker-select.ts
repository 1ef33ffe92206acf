/**
 * Picks restic's cuts from the candidate positions of a stream's blocks (chunker.ts
 * cutCandidates), block by block and in order: a chunk ends at the first candidate at least
 * MIN_CHUNK after its start, or MAX_CHUNK after it when there is none. This is the same rule
 * as the chunker's scan (the fingerprint it checks is that of the last 64 bytes alone), so
 * the cuts are the same; the expensive part, finding candidates, can then run on several
 * threads at once while this cheap part stays in order.
 */
import { MAX_CHUNK, MIN_CHUNK } from './chunker.js';

export interface CutSelector {
  /**
   * The next block, of `length` bytes, with its candidates (relative to its start, ascending):
   * returns the lengths of the chunks that end in it.
   */
  next(candidates: readonly number[], length: number): number[];
  /**
   * The next block, chunked in order by the caller instead (a block with too many
   * candidates): `cuts` are the lengths of the chunks that ended in it, counted from the
   * current chunk's start as a chunker started there gives them.
   */
  nextInOrder(cuts: readonly number[], length: number): void;
  /** Bytes since the last cut (the current chunk so far). */
  pending(): number;
}

export function createCutSelector(): CutSelector {
  let start = 0; // stream position where the current chunk starts
  let end = 0; // stream position after the last block
  return {
    next(candidates, length) {
      const blockStart = end;
      end += length;
      const cuts: number[] = [];
      let i = 0;
      for (;;) {
        while (i < candidates.length && blockStart + candidates[i] < start + MIN_CHUNK) i++;
        const at = i < candidates.length ? blockStart + candidates[i] : Infinity;
        const cut = Math.min(at, start + MAX_CHUNK);
        if (cut > end) return cuts;
        cuts.push(cut - start);
        start = cut;
      }
    },
    nextInOrder(cuts, length) {
      end += length;
      for (const c of cuts) start += c;
    },
    pending: () => end - start,
  };
}
