/**
 * zstd straight into the caller's memory (compression.ts zstdCompressInto): one part or
 * several compressed as one stream decode to the plaintext, incompressible data and tiny
 * blobs are refused (stored as they are), and a refused stream leaves the context usable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { zstdCompressInto, zstdDecompress } from './compression.js';

const text = Buffer.from('2026-11-24 03:10:00 GET /items/42 200 1532 bytes\n'.repeat(40_000));

test('one part or several decode to the plaintext, and are smaller', () => {
  const dst = Buffer.alloc(text.length);
  for (const cuts of [[], [1], [700_000], [5, 123_456, 1_000_000, 1_999_999]]) {
    const parts: Buffer[] = [];
    let at = 0;
    for (const c of [...cuts, text.length]) {
      parts.push(text.subarray(at, c));
      at = c;
    }
    const n = zstdCompressInto(parts, dst);
    assert.ok(n !== undefined && n < text.length / 10, `parts: ${parts.length}`);
    assert.ok(zstdDecompress(dst.subarray(0, n)).equals(text), `parts: ${parts.length}`);
  }
});

test('incompressible data, tiny blobs and too little room are refused; the context stays usable', () => {
  const dst = Buffer.alloc(4 * 1024 * 1024);
  const random = pseudoRandomBytes(1_500_000, 9);
  assert.equal(zstdCompressInto([random], dst), undefined);
  assert.equal(zstdCompressInto([random.subarray(0, 600_000), random.subarray(600_000)], dst), undefined);
  assert.equal(zstdCompressInto([], dst), undefined);
  assert.equal(zstdCompressInto([Buffer.from('x')], dst), undefined);
  assert.equal(zstdCompressInto([text.subarray(0, 100_000)], dst.subarray(0, 10)), undefined);
  const parts = [text.subarray(0, 300_000), text.subarray(300_000, 900_000)];
  const n = zstdCompressInto(parts, dst);
  assert.ok(n !== undefined);
  assert.ok(zstdDecompress(dst.subarray(0, n)).equals(text.subarray(0, 900_000)));
});
