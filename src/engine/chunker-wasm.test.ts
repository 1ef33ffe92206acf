import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type Chunker, createChunker } from './chunker.js';
import { createWasmChunker, wasmChunkerLoaded } from './chunker-wasm.js';
import { randomPolynomial } from './polynomial.js';

const skip = !wasmChunkerLoaded && 'the chunker kernel is not built (npm run build)';

function cutsOf(c: Chunker, data: Buffer, pieces: number[]): number[] {
  const out: number[] = [];
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = pieces[i % pieces.length];
    out.push(...c.push(data.subarray(off, off + n)));
    off += n;
  }
  out.push(c.finish());
  return out;
}

test('the WebAssembly chunker cuts exactly where the JavaScript reference cuts', { skip }, () => {
  for (let round = 0; round < 3; round++) {
    const pol = randomPolynomial();
    const data = randomBytes(24 * 1024 * 1024 + 12345);
    // A run of zeros longer than the maximum chunk size forces a cut at MAX_CHUNK.
    data.fill(0, 2_000_000, 11_000_000);
    const pieces = round === 0 ? [4 << 20] : round === 1 ? [1, 65536, 5 << 20, 333] : [9 << 20];
    const reference = cutsOf(createChunker(pol), data, pieces);
    assert.ok(reference.length > 5);
    assert.deepEqual(cutsOf(createWasmChunker(pol), data, pieces), reference);
  }
});

test('WebAssembly chunkers with different polynomials can take turns', { skip }, () => {
  const [p1, p2] = [randomPolynomial(), randomPolynomial()];
  const a = randomBytes(6 << 20);
  const b = randomBytes(6 << 20);
  const w1 = createWasmChunker(p1);
  const w2 = createWasmChunker(p2);
  const got1: number[] = [];
  const got2: number[] = [];
  for (let off = 0; off < a.length; off += 1 << 20) {
    got1.push(...w1.push(a.subarray(off, off + (1 << 20))));
    got2.push(...w2.push(b.subarray(off, off + (1 << 20))));
  }
  got1.push(w1.finish());
  got2.push(w2.finish());
  assert.deepEqual(got1, cutsOf(createChunker(p1), a, [1 << 20]));
  assert.deepEqual(got2, cutsOf(createChunker(p2), b, [1 << 20]));
});
