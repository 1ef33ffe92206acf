/**
 * The Rabin content-defined chunker's scan (src/engine/chunker.ts) as a WebAssembly kernel,
 * compiled by AssemblyScript (`npm run build` writes dist/engine/chunker.wasm). The 53-bit
 * digest lives in one 64-bit integer here. The JavaScript chunker stays the reference that
 * the tests compare this one against; the wrapper is src/engine/chunker-wasm.ts.
 *
 * Memory: OUT and MOD tables (256 u64 each), the 64-byte window, up to 64 cut lengths, and
 * the input window BUF of BUF_SIZE bytes. The JavaScript side saves and restores the state
 * around each push, so several chunkers can take turns.
 */
export const OUT: u32 = 0;
export const MOD: u32 = 2048;
export const WIN: u32 = 4096;
export const CUTS: u32 = 4160;
export const BUF: u32 = 8192;
export const BUF_SIZE: u32 = 4 * 1024 * 1024;

const MIN_CHUNK: u32 = 512 * 1024;
const MAX_CHUNK: u32 = 8 * 1024 * 1024;
const SPLIT_MASK: u64 = (1 << 20) - 1;

let shift: u64 = 45;
let digest: u64 = 0;
let wpos: u32 = 0;
let count: u32 = 0;
let skip: u32 = 0;

/** Sets the shift that takes the byte above the digest (polynomial degree - 8). */
export function setShift(s: u32): void {
  shift = <u64>s;
}

export function setState(hi: u32, lo: u32, w: u32, c: u32, s: u32): void {
  digest = ((<u64>hi) << 32) | (<u64>lo);
  wpos = w;
  count = c;
  skip = s;
}

export function digestHi(): u32 {
  return <u32>(digest >> 32);
}
export function digestLo(): u32 {
  return <u32>digest;
}
export function getWpos(): u32 {
  return wpos;
}
export function getCount(): u32 {
  return count;
}
export function getSkip(): u32 {
  return skip;
}

/** Starts a new chunk: the window primed with one 0x01 byte, digest 1. */
export function reset(): void {
  memory.fill(WIN, 0, 64);
  store<u8>(WIN, 1);
  wpos = 1;
  digest = 1;
  count = 0;
  skip = MIN_CHUNK - 64;
}

/** Feeds len bytes at BUF; writes the lengths of the chunks that end in them at CUTS, returns how many. */
export function push(len: u32): u32 {
  let i = BUF;
  const end = BUF + len;
  let n: u32 = 0;
  while (i < end) {
    if (skip > 0) {
      const s = min(skip, end - i);
      skip -= s;
      count += s;
      i += s;
      continue;
    }
    let d = digest;
    let w = wpos;
    let c = count;
    let cut: u32 = 0;
    for (; i < end; i++) {
      const b = <u64>load<u8>(i);
      const old = <u32>load<u8>(WIN + w);
      store<u8>(WIN + w, <u8>b);
      w = (w + 1) & 63;
      d ^= load<u64>(OUT + (old << 3));
      const top = <u32>(d >> shift);
      d = ((d << 8) | b) ^ load<u64>(MOD + (top << 3));
      c++;
      if ((d & SPLIT_MASK) == 0 ? c >= MIN_CHUNK : c >= MAX_CHUNK) {
        cut = 1;
        i++;
        break;
      }
    }
    digest = d;
    wpos = w;
    count = c;
    if (cut) {
      store<u32>(CUTS + (n << 2), c);
      n++;
      reset();
    }
  }
  return n;
}

/** Room for candidate positions: between CUTS and BUF, half for each of two lanes. */
export const MAX_CANDIDATES: u32 = (BUF - CUTS) >> 2;
const LANE: u32 = MAX_CANDIDATES >> 1;

/** Appends the byte at i to the digest. */
function append(d: u64, i: u32): u64 {
  const top = <u32>(d >> shift);
  return ((d << 8) | (<u64>load<u8>(i))) ^ load<u64>(MOD + (top << 3));
}

/** Slides the window on by the byte at i (the byte at i - 64 leaves it). */
function roll(d: u64, i: u32): u64 {
  return append(d ^ load<u64>(OUT + ((<u32>load<u8>(i - 64)) << 3)), i);
}

/**
 * Candidate cut positions of len bytes at BUF, the first `context` of which only prime the
 * window (the bytes before a block): every end e (counted from BUF) with e > context where
 * the fingerprint of the 64 bytes before e has its low 20 bits zero. The fingerprint depends
 * only on those 64 bytes, so blocks can be scanned apart and in any order; chunker-select.ts
 * picks the cuts. `context` must be at least 64 (the caller pads with zeros, whose
 * fingerprint is 0). Two halves are scanned in one loop (two independent chains keep the
 * CPU busier). Writes positions at CUTS; returns how many, or MAX_CANDIDATES + 1 when there
 * are more (degenerate data: the caller chunks in order).
 */
export function candidates(len: u32, context: u32): u32 {
  const end = BUF + len;
  const start = BUF + context;
  const half = (end - start) >> 1;
  const mid = start + half;
  let d1: u64 = 0;
  let d2: u64 = 0;
  // Prime both chains with the 64 bytes before their first position (from an empty window).
  for (let i = start - 64; i < start; i++) d1 = append(d1, i);
  for (let i = mid - 64; i < mid; i++) d2 = append(d2, i);
  let n1: u32 = 0;
  let n2: u32 = 0;
  for (let j: u32 = 0; j < half; j++) {
    d1 = roll(d1, start + j);
    d2 = roll(d2, mid + j);
    if ((d1 & SPLIT_MASK) == 0) {
      if (n1 == LANE) return MAX_CANDIDATES + 1;
      store<u32>(CUTS + (n1 << 2), start + j + 1 - BUF);
      n1++;
    }
    if ((d2 & SPLIT_MASK) == 0) {
      if (n2 == LANE) return MAX_CANDIDATES + 1;
      store<u32>(CUTS + ((LANE + n2) << 2), mid + j + 1 - BUF);
      n2++;
    }
  }
  for (let i = mid + half; i < end; i++) {
    d2 = roll(d2, i);
    if ((d2 & SPLIT_MASK) == 0) {
      if (n2 == LANE) return MAX_CANDIDATES + 1;
      store<u32>(CUTS + ((LANE + n2) << 2), i + 1 - BUF);
      n2++;
    }
  }
  // The second lane's positions follow the first lane's.
  memory.copy(CUTS + (n1 << 2), CUTS + (LANE << 2), n2 << 2);
  return n1 + n2;
}
