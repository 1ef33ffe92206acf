/**
 * The s3 source: objects under a bucket/prefix, with keys no file system would take as they
 * are, content types and user metadata, go into a snapshot (readable with restic) and come
 * back into another bucket/prefix equal, key for key and header for header.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { localBackend } from '../backends/local.js';
import { makeS3Client, parseS3Url } from '../backends/s3-client.js';
import { initRepository, openRepository, type Repository } from '../engine/repository.js';
import { findSnapshot } from '../engine/snapshots.js';
import { isHoldfastError } from '../errors.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { CHEAP_KDF } from '../testing/repo.js';
import { restic, resticBuffer } from '../testing/restic.js';
import {
  type S3StandIn,
  STANDIN_CREDENTIALS,
  STANDIN_PACKAGE,
  startS3StandIn,
} from '../testing/s3-standin.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { keyOfPath, objectPath, resolveDirConflicts } from './s3-key-path.js';
import { backupS3, readS3Metadata, restoreS3 } from './s3.js';

interface Obj {
  key: string;
  body: Buffer;
  contentType?: string;
  metadata?: Record<string, string>;
  cacheControl?: string;
  contentDisposition?: string;
}

const ODD_KEYS = [
  'data/plain.txt',
  'data/with space.txt',
  'data/unicodé/日本語 🎉.bin',
  'data/a/../b',
  'data/./dot',
  'data/..',
  'data/%41percent%',
  'data/plus+sign&amp',
  'data/dir',
  'data/dir/child',
  'data/trailing/',
  'data//double',
  'data/empty',
];

describe('s3 object keys as snapshot paths', () => {
  test('escapes what a path cannot hold and maps back to the exact key', () => {
    const keys = [...ODD_KEYS, '/leading', '//', '%', '%2E', 'x/%', 'x//y', 'x/'];
    const paths = resolveDirConflicts(keys.map((k) => objectPath('/s3', 'bkt', k)));
    assert.equal(new Set(paths).size, keys.length, 'no two keys share a path');
    for (let i = 0; i < keys.length; i++) {
      const segs = paths[i].split('/').slice(1);
      assert.ok(
        segs.every((s) => s !== '' && s !== '.' && s !== '..'),
        paths[i],
      );
      assert.equal(keyOfPath(paths[i].slice('/s3/bkt/'.length)), keys[i], paths[i]);
      for (const p of paths) assert.ok(!p.startsWith(paths[i] + '/'), `${paths[i]} is not also a directory`);
    }
    assert.equal(objectPath('/s3', 'bkt', 'data/with space.txt'), '/s3/bkt/data/with space.txt');
  });
});

describe(`s3 source (against the S3 stand-in ${STANDIN_PACKAGE})`, () => {
  let s3: S3StandIn;
  let tmp: string;
  let client: S3Client;
  let repo: Repository;
  const PW = Buffer.from('s3 source pw');

  before(async () => {
    s3 = await startS3StandIn(['src-bucket', 'odd-bucket', 'dst-bucket']);
    tmp = makeTempDir('s3-source');
    client = makeS3Client(parseS3Url(s3.url('src-bucket')), { credentials: STANDIN_CREDENTIALS });
    await initRepository(localBackend(tmp + '/repo'), PW, { scrypt: CHEAP_KDF });
    repo = await openRepository(localBackend(tmp + '/repo'), PW, { packSize: 1 << 20 });
  });
  after(async () => {
    client?.destroy();
    await s3?.close();
    removeDir(tmp);
  });

  const put = (bucket: string, o: Obj) =>
    client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: o.key,
        Body: o.body,
        ContentType: o.contentType,
        Metadata: o.metadata,
        CacheControl: o.cacheControl,
        ContentDisposition: o.contentDisposition,
      }),
    );

  async function keysUnder(bucket: string, prefix: string): Promise<string[]> {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (res.Contents ?? []).map((o) => o.Key!).sort();
  }

  /** Each restored object equals its original: bytes, content type, user metadata, headers. */
  async function assertSame(
    fromBucket: string,
    toBucket: string,
    objs: Obj[],
    rename: (key: string) => string,
  ) {
    const get = async (bucket: string, key: string) => {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { ...res, bytes: Buffer.from(await res.Body!.transformToByteArray()) };
    };
    for (const o of objs) {
      const a = await get(fromBucket, o.key);
      const b = await get(toBucket, rename(o.key));
      assert.ok(a.bytes.equals(o.body) && b.bytes.equals(o.body), `content of ${JSON.stringify(o.key)}`);
      if (o.contentType) assert.equal(b.ContentType, o.contentType, `content type of ${o.key}`);
      assert.equal(b.ContentType, a.ContentType, `content type of ${o.key}`);
      assert.deepEqual(b.Metadata ?? {}, o.metadata ?? {}, `metadata of ${o.key}`);
      assert.deepEqual(a.Metadata ?? {}, o.metadata ?? {}, `metadata of ${o.key}`);
      assert.equal(b.CacheControl, o.cacheControl, `cache control of ${o.key}`);
      assert.equal(b.ContentDisposition, o.contentDisposition, `content disposition of ${o.key}`);
    }
  }

  test('objects with unusual keys, content types and metadata round-trip through a snapshot', async () => {
    const objs: Obj[] = ODD_KEYS.map((key, i) => ({
      key,
      body: key === 'data/empty' ? Buffer.alloc(0) : Buffer.from(`object ${i}: ${key}\n`),
      contentType: i % 2 ? 'text/plain; charset=utf-8' : undefined,
      metadata: i % 3 ? { owner: 'team-a', note: `Note ${i} with spaces` } : undefined,
      cacheControl: i === 1 ? 'max-age=60' : undefined,
      contentDisposition: i === 2 ? 'attachment; filename="x.bin"' : undefined,
    }));
    objs.push({
      key: 'data/big.bin',
      body: pseudoRandomBytes(20 * 1024 * 1024 + 5, 3),
      contentType: 'application/x-big',
    });
    for (const o of objs) await put('src-bucket', o);
    await put('src-bucket', { key: 'other/outside.txt', body: Buffer.from('not below the prefix') });
    assert.deepEqual(
      await keysUnder('src-bucket', 'data/'),
      objs.map((o) => o.key).sort(),
      'the stand-in keeps the keys',
    );

    await repo.loadIndex();
    const result = await backupS3(
      repo,
      { type: 's3', url: s3.url('src-bucket', 'data') },
      { hostname: 'h', asset: 'tfstate' },
      { credentials: STANDIN_CREDENTIALS },
    );
    assert.ok(result.snapshot.tags?.includes('source:s3'));
    assert.ok(result.snapshot.tags?.includes('asset:tfstate'));
    const snap = await findSnapshot(repo, result.snapshotId);
    const doc = await readS3Metadata(repo, snap);
    assert.deepEqual(
      doc.objects.map((r) => r.key).sort(),
      objs.map((o) => o.key).sort(),
      'only keys below the prefix',
    );
    const plain = doc.objects.find((r) => r.key === 'data/with space.txt')!;
    assert.equal(plain.path, '/s3/src-bucket/data/with space.txt');
    assert.equal(plain.contentType, 'text/plain; charset=utf-8');
    assert.equal(doc.objects.find((r) => r.key === 'data/dir')!.path, '/s3/src-bucket/data/dir%');

    // restic reads the snapshot: each object is a plain file.
    const rrepo = { repo: tmp + '/repo', password: PW.toString() };
    assert.match(restic(['check', '--read-data'], rrepo), /no errors were found/);
    assert.equal(
      restic(['dump', 'latest', '/s3/src-bucket/data/with space.txt'], rrepo),
      objs[1].body.toString(),
    );
    assert.ok(
      resticBuffer(['dump', 'latest', '/s3/src-bucket/data/big.bin'], rrepo).equals(objs.at(-1)!.body),
    );

    const restored = await restoreS3(repo, snap, {
      into: s3.url('dst-bucket', 'restored'),
      credentials: STANDIN_CREDENTIALS,
    });
    assert.match(restored.restored[0], new RegExp(`^${objs.length} objects`));
    const rename = (k: string) => 'restored/' + k.slice('data/'.length);
    assert.deepEqual(await keysUnder('dst-bucket', 'restored/'), objs.map((o) => rename(o.key)).sort());
    await assertSame('src-bucket', 'dst-bucket', objs, rename);
  });

  test('keys with a leading slash or empty segments at the bucket root round-trip', async () => {
    const objs: Obj[] = ['/leading', '//two', 'x//y', 'x/', 'x'].map((key) => ({
      key,
      body: Buffer.from(`body of ${key}`),
      contentType: 'text/x-odd',
      metadata: { k: key.replace(/\//g, 'slash') },
    }));
    for (const o of objs) await put('odd-bucket', o);
    assert.deepEqual(await keysUnder('odd-bucket', ''), objs.map((o) => o.key).sort());
    const result = await backupS3(
      repo,
      { type: 's3', url: s3.url('odd-bucket') },
      { hostname: 'h' },
      { credentials: STANDIN_CREDENTIALS },
    );
    const snap = await findSnapshot(repo, result.snapshotId);
    await restoreS3(repo, snap, { into: s3.url('dst-bucket', 'odd'), credentials: STANDIN_CREDENTIALS });
    assert.deepEqual(await keysUnder('dst-bucket', 'odd/'), objs.map((o) => `odd/${o.key}`).sort());
    await assertSame('odd-bucket', 'dst-bucket', objs, (k) => `odd/${k}`);
  });

  test('a missing bucket fails the backup with a clear error and writes no snapshot', async () => {
    const before = (await repo.backend.list('snapshot')).length;
    await assert.rejects(
      backupS3(
        repo,
        { type: 's3', url: s3.url('no-such-bucket') },
        { hostname: 'h' },
        { credentials: STANDIN_CREDENTIALS },
      ),
      (err) => isHoldfastError(err) && /no-such-bucket/.test(err.message),
    );
    assert.equal((await repo.backend.list('snapshot')).length, before);
  });
});
