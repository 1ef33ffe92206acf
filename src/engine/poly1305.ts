/**
 * Poly1305 one-time authenticator (RFC 8439): the WebAssembly kernel built from
 * assembly/poly1305.ts when `npm run build` produced it (about ten times faster), otherwise
 * the JavaScript implementation from @noble/ciphers, which stays the reference the tests
 * compare the kernel against. HOLDFAST_POLY1305=js forces the JavaScript path.
 */
import { readFileSync } from 'node:fs';
import { poly1305 as poly1305Js } from '@noble/ciphers/_poly1305.js';

export { poly1305Js };

interface Kernel {
  memory: { buffer: ArrayBuffer };
  init(): void;
  update(ptr: number, len: number): void;
  finish(ptr: number, len: number): void;
}

/** The part of the WebAssembly API used here (the TypeScript lib in use does not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const KEY = 0;
const TAG = 32;
const BUF = 64;
const WINDOW = 65536;

function loadKernel(): Kernel | undefined {
  if (process.env.HOLDFAST_POLY1305 === 'js') return undefined;
  let bytes: Buffer;
  try {
    bytes = readFileSync(new URL('./poly1305.wasm', import.meta.url));
  } catch {
    return undefined; // not built: the JavaScript path is correct, only slower
  }
  return new wasm.Instance(new wasm.Module(bytes), {}).exports as unknown as Kernel;
}

const kernel = loadKernel();
const mem = kernel ? new Uint8Array(kernel.memory.buffer) : undefined;

/** True when the WebAssembly kernel is in use. */
export const poly1305WasmLoaded = kernel !== undefined;

/** The WebAssembly kernel: copies `msg` through a 64 KiB window in its memory. */
export function poly1305Wasm(msg: Uint8Array, key: Uint8Array): Uint8Array {
  if (!kernel || !mem) throw new Error('the Poly1305 WebAssembly kernel is not built');
  mem.set(key.subarray(0, 32), KEY);
  kernel.init();
  let off = 0;
  while (msg.length - off > WINDOW) {
    mem.set(msg.subarray(off, off + WINDOW), BUF);
    kernel.update(BUF, WINDOW);
    off += WINDOW;
  }
  mem.set(msg.subarray(off), BUF);
  kernel.finish(BUF, msg.length - off);
  return mem.slice(TAG, TAG + 16);
}

/** Poly1305 of `msg` under a 32-byte key (r || s); r is clamped here. */
export function poly1305(msg: Uint8Array, key: Uint8Array): Uint8Array {
  return kernel ? poly1305Wasm(msg, key) : poly1305Js(msg, key);
}
