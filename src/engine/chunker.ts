/**
 * restic's content-defined chunker (restic-format.md §6): a Rabin fingerprint over a 64-byte
 * window with a per-repository polynomial, cutting where the low 20 bits of the digest are
 * zero, with chunks between 512 KiB and 8 MiB. Same polynomial, same bytes ⇒ the same
 * boundaries as restic, which is what lets holdfast and restic deduplicate against each other.
 *
 * The 53-bit digest is kept as two int32 halves so the hot loop stays in 32-bit integers.
 */
import { fail } from '../errors.js';
import { degree, polyMod } from './polynomial.js';

export const MIN_CHUNK = 512 * 1024;
export const MAX_CHUNK = 8 * 1024 * 1024;
const WINDOW = 64;
const SPLIT_MASK = (1 << 20) - 1;

export interface Tables {
  outHi: Int32Array;
  outLo: Int32Array;
  modHi: Int32Array;
  modLo: Int32Array;
  /** How far right to shift the high half to get the 8 bits above the digest. */
  topShift: number;
}

const tableCache = new Map<bigint, Tables>();

/** The lookup tables for `pol` (shared with the WebAssembly chunker, chunker-wasm.ts). */
export function tablesFor(pol: bigint): Tables {
  const cached = tableCache.get(pol);
  if (cached) return cached;
  const k = degree(pol);
  // The two-halves arithmetic needs the top byte wholly in the high half.
  if (k < 40 || k > 56)
    fail('REPO_UNSUPPORTED', `chunker polynomial of degree ${k} is not supported (restic uses 53)`);
  const t: Tables = {
    outHi: new Int32Array(256),
    outLo: new Int32Array(256),
    modHi: new Int32Array(256),
    modLo: new Int32Array(256),
    topShift: k - 8 - 32,
  };
  for (let b = 0; b < 256; b++) {
    // Fingerprint of the window b, 0 × 63: what leaves the window when b slides out.
    let h = polyMod(BigInt(b), pol);
    for (let i = 1; i < WINDOW; i++) h = polyMod(h << 8n, pol);
    t.outHi[b] = Number(h >> 32n);
    t.outLo[b] = Number(BigInt.asIntN(32, h));
    const shifted = BigInt(b) << BigInt(k);
    const m = polyMod(shifted, pol) ^ shifted;
    t.modHi[b] = Number(BigInt.asIntN(32, m >> 32n));
    t.modLo[b] = Number(BigInt.asIntN(32, m));
  }
  tableCache.set(pol, t);
  return t;
}

export interface Chunker {
  /** Feeds the next bytes of the stream; returns the lengths of the chunks that ended in them. */
  push(buf: Uint8Array): number[];
  /** Ends the stream; returns the length of the last, partial chunk (0 if none). */
  finish(): number;
}

/** A chunker for one file or stream; chunks never span two of them. */
export function createChunker(pol: bigint): Chunker {
  const { outHi, outLo, modHi, modLo, topShift } = tablesFor(pol);
  const win = new Uint8Array(WINDOW);
  let wpos = 0;
  let hi = 0;
  let lo = 0;
  let count = 0;
  let skip = 0;

  function reset(): void {
    win.fill(0);
    // Prime the window with one 0x01 byte: digest 1, win[0] = 1.
    win[0] = 1;
    wpos = 1;
    hi = 0;
    lo = 1;
    count = 0;
    // The first MinSize - window bytes of a chunk cannot contain a cut and are not hashed.
    skip = MIN_CHUNK - WINDOW;
  }
  reset();

  /** Hashes buf[from..] until a cut; returns the index after the cut byte, or -1. */
  function scan(buf: Uint8Array, from: number): number {
    // The state lives in locals (int32 arithmetic throughout) while the loop runs.
    let h = hi;
    let l = lo;
    let w = wpos;
    let c = count;
    let end = -1;
    for (let i = from; i < buf.length; i++) {
      const b = buf[i];
      const old = win[w];
      win[w] = b;
      w = (w + 1) & (WINDOW - 1);
      h ^= outHi[old];
      l ^= outLo[old];
      const top = h >>> topShift;
      h = ((h << 8) | (l >>> 24)) ^ modHi[top];
      l = ((l << 8) | b) ^ modLo[top];
      c++;
      if ((l & SPLIT_MASK) === 0 ? c >= MIN_CHUNK : c >= MAX_CHUNK) {
        end = i + 1;
        break;
      }
    }
    hi = h;
    lo = l;
    wpos = w;
    count = c;
    return end;
  }

  return {
    push(buf) {
      const cuts: number[] = [];
      let i = 0;
      while (i < buf.length) {
        if (skip > 0) {
          const s = Math.min(skip, buf.length - i);
          skip -= s;
          count += s;
          i += s;
          continue;
        }
        const end = scan(buf, i);
        if (end < 0) break;
        cuts.push(count);
        reset();
        i = end;
      }
      return cuts;
    },
    finish() {
      const last = count;
      reset();
      return last;
    },
  };
}

/**
 * Candidate cut positions of `block` (the reference for the WebAssembly kernel's
 * `candidates`): every end e (counted from the block's start, 1..length) where the
 * fingerprint of the 64 bytes before e has its low 20 bits zero, `context` holding the bytes
 * before the block (up to 63, zeros before that; a stream's first block has none). The fingerprint is a function
 * of those 64 bytes alone, so blocks can be scanned apart; chunker-select.ts picks the cuts.
 * Undefined when there are more than `limit` (degenerate data, such as zeros).
 */
export function cutCandidates(
  pol: bigint,
  block: Uint8Array,
  context: Uint8Array,
  limit: number,
): number[] | undefined {
  const { outHi, outLo, modHi, modLo, topShift } = tablesFor(pol);
  const win = new Uint8Array(WINDOW);
  let w = 0;
  let h = 0;
  let l = 0;
  const out: number[] = [];
  const all = context.length + block.length;
  for (let i = 0; i < all; i++) {
    const b = i < context.length ? context[i] : block[i - context.length];
    const old = win[w];
    win[w] = b;
    w = (w + 1) & (WINDOW - 1);
    h ^= outHi[old];
    l ^= outLo[old];
    const top = h >>> topShift;
    h = ((h << 8) | (l >>> 24)) ^ modHi[top];
    l = ((l << 8) | b) ^ modLo[top];
    if ((l & SPLIT_MASK) === 0 && i >= context.length) {
      if (out.length === limit) return undefined;
      out.push(i + 1 - context.length);
    }
  }
  return out;
}
