/**
 * Poly1305 (RFC 8439) as a WebAssembly kernel, compiled by AssemblyScript (`npm run build`
 * writes dist/engine/poly1305.wasm). poly1305-donna's 32-bit layout: five 26-bit limbs,
 * products in 64-bit integers. The JavaScript wrapper is src/engine/poly1305-wasm.ts; the
 * JavaScript implementation in @noble/ciphers stays the reference the tests compare against.
 *
 * Memory: key at KEY (32 bytes), tag at TAG (16 bytes), message window at BUF (WINDOW bytes).
 */
export const KEY: u32 = 0;
export const TAG: u32 = 32;
export const BUF: u32 = 64;
export const WINDOW: u32 = 65536;

const MASK: u64 = 0x3ffffff;

let r0: u64 = 0;
let r1: u64 = 0;
let r2: u64 = 0;
let r3: u64 = 0;
let r4: u64 = 0;
let h0: u64 = 0;
let h1: u64 = 0;
let h2: u64 = 0;
let h3: u64 = 0;
let h4: u64 = 0;

/** Starts a MAC with the 32-byte key at KEY (r is clamped here). */
export function init(): void {
  r0 = <u64>(load<u32>(KEY) & 0x3ffffff);
  r1 = <u64>((load<u32>(KEY + 3) >> 2) & 0x3ffff03);
  r2 = <u64>((load<u32>(KEY + 6) >> 4) & 0x3ffc0ff);
  r3 = <u64>((load<u32>(KEY + 9) >> 6) & 0x3f03fff);
  r4 = <u64>((load<u32>(KEY + 12) >> 8) & 0x00fffff);
  h0 = 0;
  h1 = 0;
  h2 = 0;
  h3 = 0;
  h4 = 0;
}

/** Absorbs the 16-byte blocks in [ptr, ptr+len); hibit is 1<<24 except for a padded last block. */
function blocks(ptr: u32, len: u32, hibit: u64): void {
  const s1 = r1 * 5;
  const s2 = r2 * 5;
  const s3 = r3 * 5;
  const s4 = r4 * 5;
  let a0 = h0;
  let a1 = h1;
  let a2 = h2;
  let a3 = h3;
  let a4 = h4;
  const end = ptr + len;
  for (let m = ptr; m < end; m += 16) {
    a0 += <u64>(load<u32>(m) & 0x3ffffff);
    a1 += <u64>((load<u32>(m + 3) >> 2) & 0x3ffffff);
    a2 += <u64>((load<u32>(m + 6) >> 4) & 0x3ffffff);
    a3 += <u64>((load<u32>(m + 9) >> 6) & 0x3ffffff);
    a4 += (<u64>(load<u32>(m + 12) >> 8)) | hibit;
    const d0 = a0 * r0 + a1 * s4 + a2 * s3 + a3 * s2 + a4 * s1;
    let d1 = a0 * r1 + a1 * r0 + a2 * s4 + a3 * s3 + a4 * s2;
    let d2 = a0 * r2 + a1 * r1 + a2 * r0 + a3 * s4 + a4 * s3;
    let d3 = a0 * r3 + a1 * r2 + a2 * r1 + a3 * r0 + a4 * s4;
    let d4 = a0 * r4 + a1 * r3 + a2 * r2 + a3 * r1 + a4 * r0;
    let c = d0 >> 26;
    a0 = d0 & MASK;
    d1 += c;
    c = d1 >> 26;
    a1 = d1 & MASK;
    d2 += c;
    c = d2 >> 26;
    a2 = d2 & MASK;
    d3 += c;
    c = d3 >> 26;
    a3 = d3 & MASK;
    d4 += c;
    c = d4 >> 26;
    a4 = d4 & MASK;
    a0 += c * 5;
    c = a0 >> 26;
    a0 &= MASK;
    a1 += c;
  }
  h0 = a0;
  h1 = a1;
  h2 = a2;
  h3 = a3;
  h4 = a4;
}

/** Absorbs len bytes at ptr; len must be a multiple of 16 (more data follows). */
export function update(ptr: u32, len: u32): void {
  blocks(ptr, len, 1 << 24);
}

/** Absorbs the last len bytes at ptr (any length; BUF has room for one padding block), writes the tag at TAG. */
export function finish(ptr: u32, len: u32): void {
  const full = len & ~15;
  blocks(ptr, full, 1 << 24);
  const rest = len - full;
  if (rest > 0) {
    const last = ptr + full;
    store<u8>(last + rest, 1);
    for (let i = rest + 1; i < 16; i++) store<u8>(last + i, 0);
    blocks(last, 16, 0);
  }
  let a0 = h0;
  let a1 = h1;
  let a2 = h2;
  let a3 = h3;
  let a4 = h4;
  let c = a1 >> 26;
  a1 &= MASK;
  a2 += c;
  c = a2 >> 26;
  a2 &= MASK;
  a3 += c;
  c = a3 >> 26;
  a3 &= MASK;
  a4 += c;
  c = a4 >> 26;
  a4 &= MASK;
  a0 += c * 5;
  c = a0 >> 26;
  a0 &= MASK;
  a1 += c;
  // Compute a - p and keep it when it does not underflow.
  let g0 = a0 + 5;
  c = g0 >> 26;
  g0 &= MASK;
  let g1 = a1 + c;
  c = g1 >> 26;
  g1 &= MASK;
  let g2 = a2 + c;
  c = g2 >> 26;
  g2 &= MASK;
  let g3 = a3 + c;
  c = g3 >> 26;
  g3 &= MASK;
  const g4 = a4 + c - (1 << 26);
  const keep: u64 = (g4 >> 63) - 1; // all ones when g4 >= 0
  a0 = (a0 & ~keep) | (g0 & keep);
  a1 = (a1 & ~keep) | (g1 & keep);
  a2 = (a2 & ~keep) | (g2 & keep);
  a3 = (a3 & ~keep) | (g3 & keep);
  a4 = (a4 & ~keep) | (g4 & keep & MASK);
  const w0 = (a0 | (a1 << 26)) & 0xffffffff;
  const w1 = ((a1 >> 6) | (a2 << 20)) & 0xffffffff;
  const w2 = ((a2 >> 12) | (a3 << 14)) & 0xffffffff;
  const w3 = ((a3 >> 18) | (a4 << 8)) & 0xffffffff;
  let f = w0 + <u64>load<u32>(KEY + 16);
  store<u32>(TAG, <u32>f);
  f = w1 + <u64>load<u32>(KEY + 20) + (f >> 32);
  store<u32>(TAG + 4, <u32>f);
  f = w2 + <u64>load<u32>(KEY + 24) + (f >> 32);
  store<u32>(TAG + 8, <u32>f);
  f = w3 + <u64>load<u32>(KEY + 28) + (f >> 32);
  store<u32>(TAG + 12, <u32>f);
}
