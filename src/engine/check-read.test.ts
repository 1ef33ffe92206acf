/**
 * check --read-data's piecewise reading (check-read.ts, and a worker's reading of a local pack
 * in pack-pieces.ts) against verifyPack on the whole pack:
 * for intact packs and for each kind of damage (a flipped byte in a blob, in the header, in
 * the header's length, a truncated file) the verdicts are identical, with and without
 * worker threads and whatever the piece size; the fast blob test agrees with openBlob.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend, FileHandle } from '../backends/backend.js';
import { localBackend } from '../backends/local.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { readAndVerifyPacks } from './check-read.js';
import { blobId, sealBlobInto } from './blob-codec.js';
import { blobIsIntact } from './check-verify.js';
import type { PackedBlob } from './pack.js';
import { planPieces, verifyPackInPieces } from './pack-pieces.js';
import { type PackVerdict, verifyPack } from './pack-verify.js';
import { initRepository, openRepository, type Repository } from './repository.js';
import { backupStream } from './stream-backup.js';
import { shutdownWorkers } from './worker-pool.js';

const PW = Buffer.from('pieces');
const KDF = { N: 1024, r: 8, p: 1 };

async function* source(): AsyncGenerator<Buffer> {
  for (let i = 0; i < 6; i++) yield pseudoRandomBytes(1_500_000, 50 + i);
  yield Buffer.from('a line of text that compresses well\n'.repeat(120_000));
}

function packFile(dir: string, id: string): string {
  return path.join(dir, 'data', id.slice(0, 2), id);
}

async function piecewise(
  repo: Repository,
  id: string,
  size: number,
  pieceBytes: number,
): Promise<PackVerdict> {
  const blobs = repo.index.packs.get(id) ?? [];
  let out: PackVerdict | undefined;
  await readAndVerifyPacks(
    repo,
    [id],
    () => blobs,
    () => size,
    (_, v) => (out = v),
    { pieceBytes },
  );
  assert.ok(out);
  return out;
}

describe('check --read-data piece by piece', () => {
  let tmp: string;
  let dir: string;
  let packs: { id: string; size: number; blobs: PackedBlob[] }[];

  before(async () => {
    tmp = makeTempDir('check-read');
    dir = path.join(tmp, 'repo');
    await initRepository(localBackend(dir), PW, { scrypt: KDF });
    const repo = await openRepository(localBackend(dir), PW, { workers: 0 });
    await backupStream(repo, source(), 'data.bin', { hostname: 'h' });
    const fresh = await openRepository(localBackend(dir), PW, { workers: 0 });
    await fresh.loadIndex();
    packs = [...fresh.index.packs].map(([id, blobs]) => ({
      id,
      size: fs.statSync(packFile(dir, id)).size,
      blobs,
    }));
  });
  after(async () => {
    await shutdownWorkers();
    removeDir(tmp);
  });

  test('a pack with several blobs is cut at blob boundaries, the header in the last piece', () => {
    const big = packs.reduce((a, b) => (b.blobs.length > a.blobs.length ? b : a));
    assert.ok(big.blobs.length >= 3, 'the test data makes a pack of several blobs');
    const pieces = planPieces(big.blobs, big.size, 1);
    assert.ok(pieces);
    assert.equal(pieces.length, big.blobs.length);
    assert.equal(pieces[0].start, 0);
    assert.equal(pieces[pieces.length - 1].end, big.size);
    for (let i = 1; i < pieces.length; i++) assert.equal(pieces[i].start, pieces[i - 1].end);
    const gap = big.blobs.map((b) => (b.offset === 0 ? { ...b, offset: 1 } : b));
    assert.equal(planPieces(gap, big.size, 1), undefined);
  });

  const damages: [string, (file: string, p: { size: number; blobs: PackedBlob[] }) => void][] = [
    ['intact', () => undefined],
    [
      'a flipped byte in the middle blob',
      (file, p) => {
        const b = [...p.blobs].sort((x, y) => x.offset - y.offset)[Math.floor(p.blobs.length / 2)];
        flip(file, b.offset + Math.floor(b.length / 2));
      },
    ],
    ['a flipped byte in the header', (file, p) => flip(file, p.size - 10)],
    ['a flipped byte in the header length', (file, p) => flip(file, p.size - 2)],
    ['a header length that points before the pack', (file, p) => flip(file, p.size - 1, 0x80)],
    ['a truncated pack', (file, p) => fs.truncateSync(file, p.size - 10)],
  ];

  for (const [name, damage] of damages) {
    test(`${name}: the same verdict as verifyPack on the whole pack`, async () => {
      const copy = path.join(tmp, name.replace(/\W+/g, '-'));
      fs.cpSync(dir, copy, { recursive: true });
      for (const p of packs) {
        const file = packFile(copy, p.id);
        fs.chmodSync(file, 0o600);
        damage(file, p);
      }
      for (const workers of [0, 1, 2])
        for (const into of [false, true]) {
          const backend = into ? readingInto(localBackend(copy)) : localBackend(copy);
          const repo = await openRepository(backend, PW, { workers });
          await repo.loadIndex();
          for (const p of packs) {
            const expected = verifyPack(repo.key, p.id, fs.readFileSync(packFile(copy, p.id)), p.blobs);
            if (name === 'intact') assert.deepEqual(expected, { problems: [], bad: [] });
            else if (p.blobs.length > 1) assert.ok(expected.problems.length > 0, `${name} is found`);
            if (workers === 0 && !into) {
              // A worker's reading of a local pack in pieces (pack-pieces.ts): the same verdict,
              // or none for a layout it leaves to the whole-pack path (a damaged header length).
              const bytes = fs.readFileSync(packFile(copy, p.id));
              const read = (at: number, n: number) => {
                if (at + n > bytes.length) throw new Error('short read');
                return bytes.subarray(at, at + n);
              };
              const inPieces = verifyPackInPieces(repo.key, p.id, bytes.length, p.blobs, read);
              if (/intact|middle blob|in the header$/.test(name))
                assert.ok(inPieces, `${name}: read in pieces`);
              if (inPieces) assert.deepEqual(inPieces, expected, `${name}, in pieces`);
            }
            for (const pieceBytes of [1, 64 * 1024, 1 << 20, Infinity]) {
              const got = await piecewise(repo, p.id, p.size, pieceBytes);
              const how = `${workers} workers, pieces of ${pieceBytes}${into ? ', read into the ring' : ''}`;
              assert.deepEqual(got, expected, `${name}, ${how}`);
            }
          }
        }
    });
  }

  test('blobIsIntact accepts intact blobs and rejects damaged ones', async () => {
    const repo = await openRepository(localBackend(dir), PW, { workers: 0 });
    for (const p of packs) {
      const bytes = fs.readFileSync(packFile(dir, p.id));
      for (const b of p.blobs) {
        const sealed = Buffer.from(bytes.subarray(b.offset, b.offset + b.length));
        assert.ok(blobIsIntact(repo.key, sealed, b.uncompressedLength, b.id));
        assert.ok(!blobIsIntact(repo.key, sealed, b.uncompressedLength, b.id.replace(/^./, 'x')));
        if (b.uncompressedLength > 0) {
          // A length other than the one announced, then the blob again (zstd starts afresh).
          assert.ok(!blobIsIntact(repo.key, sealed, b.uncompressedLength - 1, b.id));
          assert.ok(!blobIsIntact(repo.key, sealed, b.uncompressedLength + 1, b.id));
          assert.ok(blobIsIntact(repo.key, sealed, b.uncompressedLength, b.id));
        }
        sealed[sealed.length >> 1] ^= 1;
        assert.ok(!blobIsIntact(repo.key, sealed, b.uncompressedLength, b.id));
      }
    }
  });

  test('blobIsIntact accepts a blob whose frame ends just as its output window fills', async () => {
    // 1 MiB of repeated text: zstd fills each 128 KiB of output from a few bytes of input, and
    // the frame's last byte goes in with the call that fills the last window. The check once
    // made one more call to flush, whose answer concerned a next frame, and said "damaged".
    const repo = await openRepository(localBackend(dir), PW, { workers: 0 });
    const plain = Buffer.from('a line of text that compresses well\n'.repeat(30_000)).subarray(0, 1 << 20);
    const out = Buffer.alloc(plain.length + 64);
    const sealed = sealBlobInto(repo.key, plain, true, out);
    assert.equal(sealed.uncompressedLength, plain.length, 'the blob is compressed');
    const stored = out.subarray(0, sealed.length);
    assert.ok(blobIsIntact(repo.key, stored, plain.length, blobId(plain)));
    assert.ok(!blobIsIntact(repo.key, stored, plain.length, blobId(plain.subarray(1))));
  });
});

/**
 * `backend` with loadInto (reads into the caller's buffer, as a backend that offers it does),
 * so that pieces go through the ring; a short read fails like load's.
 */
function readingInto(backend: Backend): Backend {
  const loadInto = async (h: FileHandle, offset: number, into: Uint8Array) => {
    const got = await backend.load(h, offset, into.length);
    into.set(got);
  };
  return Object.assign({}, backend, { loadInto });
}

function flip(file: string, at: number, mask = 1): void {
  const bytes = fs.readFileSync(file);
  bytes[at] ^= mask;
  fs.writeFileSync(file, bytes);
}
