import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { newMasterKey, open, seal } from './crypto.js';
import { assemblePack, packSize, type PackedBlob, readPackHeader } from './pack.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('a pack holds its blobs back to back and a header that lists them; its size follows the formula', async () => {
  const key = newMasterKey();
  const plains = [Buffer.from('first blob'), Buffer.alloc(5000, 1), Buffer.from('tree-ish')];
  const sealed = plains.map((p) => seal(key, p));
  let offset = 0;
  const blobs: PackedBlob[] = plains.map((p, i) => {
    const b: PackedBlob = {
      type: 'data',
      id: sha(p),
      offset,
      length: sealed[i].length,
      uncompressedLength: i === 1 ? 5000 : 0,
    };
    offset += sealed[i].length;
    return b;
  });
  const { id, bytes } = assemblePack(key, sealed, blobs);
  assert.equal(id, sha(bytes));
  assert.equal(bytes.length, packSize(blobs));
  const header = await readPackHeader(key, id, bytes.length, async (n) => bytes.subarray(bytes.length - n));
  assert.deepEqual(header, blobs);
  assert.deepEqual(open(key, bytes.subarray(blobs[2].offset, blobs[2].offset + blobs[2].length)), plains[2]);
});

test('a damaged pack header is reported as an integrity error', async () => {
  const key = newMasterKey();
  const p = Buffer.from('x'.repeat(100));
  const s = seal(key, p);
  const { id, bytes } = assemblePack(
    key,
    [s],
    [{ type: 'data', id: sha(p), offset: 0, length: s.length, uncompressedLength: 0 }],
  );
  bytes[bytes.length - 10] ^= 1;
  await assert.rejects(
    readPackHeader(key, id, bytes.length, async (n) => bytes.subarray(bytes.length - n)),
    /ciphertext verification failed/,
  );
});
