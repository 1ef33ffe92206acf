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
