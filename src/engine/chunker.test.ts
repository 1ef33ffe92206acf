/**
 * The chunker cuts exactly where restic cuts: a repository made by restic is read for its
 * polynomial, restic backs up a file, and the blob IDs of our chunks equal the content list
 * of restic's tree node. Also the polynomial arithmetic on its own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { restic, resticJson } from '../testing/restic.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { createChunker, MAX_CHUNK, MIN_CHUNK } from './chunker.js';
import { degree, formatPolynomial, isIrreducible, parsePolynomial, randomPolynomial } from './polynomial.js';

function chunkIds(pol: bigint, data: Buffer, pieceSize: number): { ids: string[]; lengths: number[] } {
  const chunker = createChunker(pol);
  const lengths: number[] = [];
  for (let off = 0; off < data.length; off += pieceSize)
    lengths.push(...chunker.push(data.subarray(off, off + pieceSize)));
  const last = chunker.finish();
  if (last) lengths.push(last);
  const ids: string[] = [];
  let pos = 0;
  for (const n of lengths) {
    ids.push(
      createHash('sha256')
        .update(data.subarray(pos, pos + n))
        .digest('hex'),
    );
    pos += n;
  }
  assert.equal(pos, data.length, 'chunks cover the whole input');
  return { ids, lengths };
}

describe('polynomial', () => {
  test('recognises known irreducible and reducible polynomials', () => {
    assert.equal(isIrreducible(0b111n), true); // x^2 + x + 1
    assert.equal(isIrreducible(0b101n), false); // (x + 1)^2
    assert.equal(isIrreducible(0b1011n), true); // x^3 + x + 1
    assert.equal(isIrreducible(0b1111n), false); // (x + 1)(x^2 + x + 1)
    assert.equal(isIrreducible(0x3da3358b4dc173n), true); // restic's chunker test polynomial
    assert.equal(isIrreducible(0x3da3358b4dc173n ^ 2n), false);
  });

  test('random polynomials have degree 53, are irreducible, and round-trip through the config form', () => {
    const p = randomPolynomial();
    assert.equal(degree(p), 53);
    assert.equal(isIrreducible(p), true);
    assert.equal(formatPolynomial(p).length, 14);
    assert.equal(parsePolynomial(formatPolynomial(p)), p);
    assert.throws(() => parsePolynomial('not-hex'), /not a hex number/);
  });
});

describe('chunker', () => {
  let tmp: string;
  before(() => {
    tmp = makeTempDir('chunker');
  });
  after(() => removeDir(tmp));

  test('cuts at the same places as restic for the same polynomial', () => {
    const repo = path.join(tmp, 'repo');
    restic(['init'], { repo });
    const config = resticJson<{ chunker_polynomial: string }>(['cat', 'config'], { repo });
    const pol = parsePolynomial(config.chunker_polynomial);
    const src = path.join(tmp, 'src');
    fs.mkdirSync(src);
    // Random data, then a long run of zeros (its digest is 0, so it cuts at MinSize), then random again.
    const data = Buffer.concat([
      pseudoRandomBytes(24 << 20, 7),
      Buffer.alloc(20 << 20),
      pseudoRandomBytes(5 << 20, 8),
    ]);
    fs.writeFileSync(path.join(src, 'big'), data);
    restic(['backup', '--host', 'h', src], { repo });
    const [snap] = resticJson<{ tree: string }[]>(['snapshots'], { repo });
    type Tree = { nodes: { name: string; subtree?: string; content?: string[] }[] };
    let node: Tree['nodes'][number] = { name: '/', subtree: snap.tree };
    for (const name of [...src.split('/').filter(Boolean), 'big']) {
      const tree = JSON.parse(restic(['cat', 'blob', String(node.subtree)], { repo })) as Tree;
      node = tree.nodes.find((n) => n.name === name) ?? assert.fail(`no ${name} in restic's tree`);
    }
    const resticContent = node.content;
    assert.ok(resticContent && resticContent.length > 5, 'restic cut the file into several chunks');

    for (const piece of [1 << 16, 1_000_003, 64 << 20]) {
      const { ids, lengths } = chunkIds(pol, data, piece);
      assert.deepEqual(ids, resticContent, `same chunks with ${piece}-byte reads`);
      for (const n of lengths.slice(0, -1)) assert.ok(n >= MIN_CHUNK && n <= MAX_CHUNK);
      assert.ok(lengths.includes(MIN_CHUNK), 'the zero run is cut as soon as a chunk may end');
    }
  });

  test('a small stream is one chunk and an empty stream is none', () => {
    const pol = randomPolynomial();
    const small = createChunker(pol);
    assert.deepEqual(small.push(Buffer.alloc(MIN_CHUNK, 1)), []);
    assert.equal(small.finish(), MIN_CHUNK);
    assert.equal(createChunker(pol).finish(), 0);
  });
});
