/**
 * The content-defined chunker on the WebAssembly kernel built from assembly/chunker.ts
 * (about twice as fast as the JavaScript scan), with the same interface and the same cuts as
 * chunker.ts, which stays the reference the tests compare it against. `createFastChunker`
 * picks the kernel when `npm run build` produced it; HOLDFAST_CHUNKER=js forces JavaScript.
 */
import { readFileSync } from 'node:fs';
import { type Chunker, createChunker, cutCandidates, MIN_CHUNK, tablesFor } from './chunker.js';

interface Kernel {
  memory: { buffer: ArrayBuffer };
  setShift(s: number): void;
  setState(hi: number, lo: number, w: number, c: number, s: number): void;
  digestHi(): number;
  digestLo(): number;
  getWpos(): number;
  getCount(): number;
  getSkip(): number;
  reset(): void;
  push(len: number): number;
  candidates(len: number, context: number): number;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const OUT = 0;
const MOD = 2048;
const WIN = 4096;
const CUTS = 4160;
const BUF = 8192;
const BUF_SIZE = 4 * 1024 * 1024;
const WINDOW = 64;
/** Room for candidate positions in the kernel's memory (its MAX_CANDIDATES). */
const MAX_CANDIDATES = (BUF - CUTS) >> 2;
/** The largest block scanCandidates takes (with up to 63 bytes of context before it). */
export const MAX_SCAN_BLOCK = BUF_SIZE - WINDOW;

function loadKernel(): Kernel | undefined {
  if (process.env.HOLDFAST_CHUNKER === 'js') return undefined;
  let bytes: Buffer;
  try {
    bytes = readFileSync(new URL('./chunker.wasm', import.meta.url));
  } catch {
    return undefined; // not built: the JavaScript chunker is correct, only slower
  }
  return new wasm.Instance(new wasm.Module(bytes), {}).exports as unknown as Kernel;
}

const kernel = loadKernel();
/** The polynomial whose tables are in the kernel's memory now. */
let loadedPol: bigint | undefined;

export const wasmChunkerLoaded = kernel !== undefined;

function useTables(k: Kernel, pol: bigint): void {
  if (loadedPol === pol) return;
  const t = tablesFor(pol);
  const mem = new DataView(k.memory.buffer);
  for (let b = 0; b < 256; b++) {
    mem.setUint32(OUT + b * 8, t.outLo[b] >>> 0, true);
    mem.setUint32(OUT + b * 8 + 4, t.outHi[b] >>> 0, true);
    mem.setUint32(MOD + b * 8, t.modLo[b] >>> 0, true);
    mem.setUint32(MOD + b * 8 + 4, t.modHi[b] >>> 0, true);
  }
  k.setShift(t.topShift + 32);
  loadedPol = pol;
}

/** A chunker on the WebAssembly kernel; its state is swapped in and out around each push. */
export function createWasmChunker(pol: bigint): Chunker {
  if (!kernel) throw new Error('the chunker WebAssembly kernel is not built');
  const k = kernel;
  const mem = new Uint8Array(k.memory.buffer);
  const cuts = new Uint32Array(k.memory.buffer, CUTS, 64);
  tablesFor(pol); // validates the polynomial now, as createChunker does
  const win = new Uint8Array(WINDOW);
  win[0] = 1;
  let hi = 0;
  let lo = 1;
  let wpos = 1;
  let count = 0;
  let skip = MIN_CHUNK - WINDOW;

  return {
    push(buf) {
      useTables(k, pol);
      k.setState(hi, lo, wpos, count, skip);
      mem.set(win, WIN);
      const out: number[] = [];
      for (let off = 0; off < buf.length; off += BUF_SIZE) {
        const part = buf.subarray(off, off + BUF_SIZE);
        mem.set(part, BUF);
        const n = k.push(part.length);
        for (let i = 0; i < n; i++) out.push(cuts[i]);
      }
      hi = k.digestHi();
      lo = k.digestLo();
      wpos = k.getWpos();
      count = k.getCount();
      skip = k.getSkip();
      win.set(mem.subarray(WIN, WIN + WINDOW));
      return out;
    },
    finish() {
      const last = count;
      win.fill(0);
      win[0] = 1;
      hi = 0;
      lo = 1;
      wpos = 1;
      count = 0;
      skip = MIN_CHUNK - WINDOW;
      return last;
    },
  };
}

/** The WebAssembly chunker when built, else the JavaScript one: the same cuts either way. */
export function createFastChunker(pol: bigint): Chunker {
  return kernel ? createWasmChunker(pol) : createChunker(pol);
}

/**
 * Candidate cut positions of a block (chunker.ts cutCandidates, on the kernel when built):
 * undefined when there are too many to list (degenerate data; the caller chunks in order).
 */
export function scanCandidates(pol: bigint, block: Uint8Array, context: Uint8Array): number[] | undefined {
  if (!kernel || block.length > MAX_SCAN_BLOCK) return cutCandidates(pol, block, context, MAX_CANDIDATES);
  useTables(kernel, pol);
  const mem = new Uint8Array(kernel.memory.buffer);
  // The kernel wants 64 bytes before the block: zeros before a short context add nothing.
  const pad = WINDOW - context.length;
  mem.fill(0, BUF, BUF + pad);
  mem.set(context, BUF + pad);
  mem.set(block, BUF + WINDOW);
  const n = kernel.candidates(WINDOW + block.length, WINDOW);
  if (n > MAX_CANDIDATES) return undefined;
  const found = new Uint32Array(kernel.memory.buffer, CUTS, n);
  return Array.from(found, (e) => e - WINDOW);
}
