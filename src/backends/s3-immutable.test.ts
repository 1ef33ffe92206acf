/**
 * Immutable repositories on S3 (Object Lock): every file but the lock files is written with
 * the retention headers AWS documents (asserted on the requests the SDK sends, since the
 * stand-in ignores them), a retained file cannot be removed, and prune keeps retained files
 * (and every pack a retained index lists) so that the repository stays valid for holdfast
 * check and `restic check --read-data`, and removes them once retention has ended.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backupPaths } from '../engine/archiver.js';
import { checkRepository } from '../engine/checker.js';
import { encodeIndex } from '../engine/index-file.js';
import { withLock } from '../engine/lock.js';
import { pruneRepository } from '../engine/prune.js';
import { initRepository, openRepository, type Repository } from '../engine/repository.js';
import { isHoldfastError } from '../errors.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { CHEAP_KDF } from '../testing/repo.js';
import { restic } from '../testing/restic.js';
import {
  recordRequests,
  type S3StandIn,
  STANDIN_CREDENTIALS,
  STANDIN_PACKAGE,
  startS3StandIn,
} from '../testing/s3-standin.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { s3Backend, type S3BackendOptions } from './s3.js';

const DAY = 86_400_000;
const PW = Buffer.from('immutable pw');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`immutable s3 repositories (against the S3 stand-in ${STANDIN_PACKAGE})`, () => {
  let s3: S3StandIn;
  let tmp: string;
  before(async () => {
    s3 = await startS3StandIn(['lock-headers', 'lock-remove', 'lock-prune']);
    tmp = makeTempDir('s3-immutable');
  });
  after(async () => {
    await s3?.close();
    removeDir(tmp);
  });

  const backend = (bucket: string, opts: S3BackendOptions) =>
    s3Backend(s3.url(bucket, 'repo'), { credentials: STANDIN_CREDENTIALS, ...opts });

  test('every write carries Object Lock mode, retain-until date and Content-MD5; lock files carry none', async () => {
    const be = backend('lock-headers', { immutable: { days: 30, mode: 'COMPLIANCE' } });
    const requests = recordRequests(be.client);
    const src = path.join(tmp, 'headers-src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.bin'), pseudoRandomBytes(300_000, 1));
    const t0 = Date.now();
    await initRepository(be, PW, { scrypt: CHEAP_KDF });
    const repo = await openRepository(be, PW, { packSize: 1 << 17 });
    await withLock(repo, false, async () => {
      await repo.loadIndex();
      await backupPaths(repo, [src], { hostname: 'h' });
    });
    const t1 = Date.now();

    const puts = requests.filter((r) => r.method === 'PUT' && r.path.includes('/repo/'));
    const kinds = new Set(puts.map((r) => /\/repo\/([a-z]+)/.exec(r.path)?.[1]));
    assert.deepEqual([...kinds].sort(), ['config', 'data', 'index', 'keys', 'locks', 'snapshots']);
    for (const r of puts) {
      assert.ok(r.headers['content-md5'], `${r.path}: Content-MD5`);
      assert.equal(r.headers['content-md5'], r.bodyMd5, `${r.path}: Content-MD5 is the body's`);
      if (r.path.includes('/repo/locks/')) {
        assert.equal(
          r.headers['x-amz-object-lock-mode'],
          undefined,
          `${r.path}: lock files are not retained`,
        );
        continue;
      }
      assert.equal(r.headers['x-amz-object-lock-mode'], 'COMPLIANCE', r.path);
      const until = Date.parse(r.headers['x-amz-object-lock-retain-until-date']);
      assert.ok(until >= t0 + 30 * DAY && until <= t1 + 30 * DAY, `${r.path}: retain until now + 30 days`);
    }
    await be.close();
  });

  test('removing a retained file fails with IMMUTABLE and says until when; lock files stay removable', async () => {
    let clock = Date.now();
    const be = backend('lock-remove', { immutable: { days: 7 }, now: () => clock });
    const requests = recordRequests(be.client);
    const h = { type: 'snapshot' as const, name: 'a'.repeat(64) };
    await be.save(h, Buffer.from('snapshot bytes'));
    assert.equal(requests.at(-1)?.headers['x-amz-object-lock-mode'], 'GOVERNANCE', 'GOVERNANCE by default');
    const until = await be.retainedUntil(h);
    assert.ok(until && until.getTime() > clock + 6.9 * DAY);
    await assert.rejects(be.remove(h), (err) => {
      assert.ok(isHoldfastError(err, 'IMMUTABLE'));
      assert.match(
        err.message,
        new RegExp(`snapshots/a{64} is under Object Lock retention until ${until.toISOString()}`),
      );
      return true;
    });
    const lock = { type: 'lock' as const, name: 'b'.repeat(64) };
    await be.save(lock, Buffer.from('lock bytes'));
    assert.equal(await be.retainedUntil(lock), undefined);
    await be.remove(lock);
    clock += 8 * DAY;
    assert.equal(await be.retainedUntil(h), undefined);
    await be.remove(h);
    assert.deepEqual(await be.list('snapshot'), []);
    await be.close();
  });

  test('prune keeps retained files and every pack a retained index lists; the repository stays valid', async () => {
    let clock = Date.now();
    const be = backend('lock-prune', { immutable: { days: 1 }, now: () => clock });
    const open = () => openRepository(be, PW, { packSize: 1 << 18 });
    const src = path.join(tmp, 'prune-src');
    fs.mkdirSync(src);
    await initRepository(be, PW, { scrypt: CHEAP_KDF });
    const backup = async (seed: number) => {
      fs.writeFileSync(path.join(src, 'data.bin'), pseudoRandomBytes(600_000, seed));
      const repo = await open();
      await repo.loadIndex();
      return (await backupPaths(repo, [src], { hostname: 'h' })).snapshotId;
    };
    const first = await backup(1);
    const firstPacks = (await be.list('pack')).map((p) => p.name);
    const second = await backup(2);
    const secondPacks = (await be.list('pack')).map((p) => p.name).filter((id) => !firstPacks.includes(id));
    await backup(3);

    // Files written so far get LastModified before `split`; the extra index after it. With the
    // clock at split + 1 day the early files have left retention and the extra index has not.
    await sleep(1500);
    const split = Date.now();
    await sleep(1500);
    const early = await open();
    await early.loadIndex();
    const extra = await early.saveFile(
      'index',
      encodeIndex({
        packs: firstPacks.map((id) => ({ id, blobs: early.index.packs.get(id)! })),
      }),
    );
    const allPacks = async () => (await be.list('pack')).map((p) => p.name).sort();
    const packsBefore = await allPacks();

    const valid = async (what: string) => {
      const repo = await open();
      const report = await checkRepository(repo, { readData: { kind: 'all' } });
      assert.deepEqual(report.errors, [], `holdfast check after ${what}`);
      assert.deepEqual(report.hints, [], `no unindexed packs after ${what}`);
      assert.match(
        restic(['check', '--read-data'], { repo: be.location, password: PW.toString() }),
        /no errors were found/,
      );
    };
    const prune = async (): Promise<ReturnType<typeof pruneRepository>> => {
      const repo: Repository = await open();
      return withLock(repo, true, () => pruneRepository(repo, { maxUnusedPercent: 0 }));
    };

    process.env.AWS_ACCESS_KEY_ID = STANDIN_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = STANDIN_CREDENTIALS.secretAccessKey;
    try {
      // Forget the first two snapshots (their files are past retention at split + 1 day).
      clock = split + DAY + 100;
      await be.remove({ type: 'snapshot', name: first });
      await be.remove({ type: 'snapshot', name: second });

      // Now everything is still retained: prune removes nothing and says until when.
      clock = Date.now();
      const none = await prune();
      assert.ok(none.filesRetained > 0);
      assert.equal(none.packsRemoved + none.packsRepacked, 0);
      assert.ok(Date.parse(none.retainedUntil!) > clock + 0.9 * DAY);
      assert.deepEqual(await allPacks(), packsBefore);
      await valid('a prune with everything retained');

      // The early files have expired, the extra index has not: the first backup's packs,
      // unused now but listed in that index, must stay; the second backup's go, and so do
      // the old index files.
      clock = split + DAY + 100;
      const partial = await prune();
      assert.equal(partial.filesRetained, 1, 'the extra index file');
      assert.equal(partial.packsRemoved, secondPacks.length);
      const left = await allPacks();
      for (const id of firstPacks)
        assert.ok(left.includes(id), `pack ${id} listed in the retained index stays`);
      for (const id of secondPacks) assert.ok(!left.includes(id), `unused expired pack ${id} is removed`);
      const indexes = (await be.list('index')).map((f) => f.name);
      assert.ok(indexes.includes(extra), 'the retained index file stays');
      assert.ok(indexes.length >= 2, 'and a new index lists the other kept packs');
      await assert.rejects(be.remove({ type: 'index', name: extra }), (err) =>
        isHoldfastError(err, 'IMMUTABLE'),
      );
      await valid('a prune with a retained index');

      // Once retention has ended everywhere, the next prune removes what nothing uses.
      clock = Date.now() + 3 * DAY;
      const done = await prune();
      assert.equal(done.filesRetained, 0);
      assert.ok(done.packsRemoved > 0);
      const after = await allPacks();
      for (const id of firstPacks) assert.ok(!after.includes(id), `pack ${id} removed`);
      assert.ok(!(await be.list('index')).some((f) => f.name === extra), 'the extra index is gone');
      await valid('a prune after retention ended');
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      await be.close();
    }
  });
});
