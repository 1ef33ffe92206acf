/**
 * Several streams in one snapshot: each file restorable with `restic dump`, and any failing
 * stream or check leaves no snapshot behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { resticBuffer, resticJson } from '../testing/restic.js';
import { newTestRepo, REPO_PASSWORD, snapshotCount } from '../testing/sources.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { backupStreams } from './streams-backup.js';

async function* chunks(data: Buffer, size = 100_000): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

describe('backup of several streams', () => {
  let tmp: string;
  before(() => (tmp = makeTempDir('streams')));
  after(() => removeDir(tmp));

  test('stores each stream as a file that restic dump restores exactly, in nested directories', async () => {
    const dir = path.join(tmp, 'ok');
    const repo = await newTestRepo(dir);
    const a = pseudoRandomBytes(1_500_000, 1);
    const b = Buffer.from('small file\n');
    const checked: string[] = [];
    const r = await backupStreams(
      repo,
      [
        { path: '/db/a.dump', open: () => chunks(a), beforeCommit: async () => void checked.push('a') },
        { path: 'db/sub/b.sql', open: () => chunks(b) },
        { path: '/empty', open: () => chunks(Buffer.alloc(0)) },
      ],
      { hostname: 'streams-host', tags: ['t1'] },
    );
    assert.deepEqual(checked, ['a']);
    assert.deepEqual(r.files, [
      { path: '/db/a.dump', size: a.length },
      { path: '/db/sub/b.sql', size: b.length },
      { path: '/empty', size: 0 },
    ]);
    assert.deepEqual(r.snapshot.paths, ['/db/a.dump', '/db/sub/b.sql', '/empty']);
    const opts = { repo: dir, password: REPO_PASSWORD };
    assert.ok(resticBuffer(['dump', 'latest', '/db/a.dump'], opts).equals(a));
    assert.ok(resticBuffer(['dump', 'latest', '/db/sub/b.sql'], opts).equals(b));
    assert.equal(resticBuffer(['dump', 'latest', '/empty'], opts).length, 0);
    const snaps = resticJson<{ tags: string[]; hostname: string }[]>(['snapshots'], opts);
    assert.equal(snaps.length, 1);
    assert.deepEqual(snaps[0].tags, ['t1']);
  });

  test('a failing check of any stream, or of the whole, writes no snapshot and opens nothing after it', async () => {
    const dir = path.join(tmp, 'fail');
    const repo = await newTestRepo(dir);
    let openedLater = false;
    await assert.rejects(
      backupStreams(
        repo,
        [
          {
            path: '/a',
            open: () => chunks(Buffer.from('partial')),
            beforeCommit: () => Promise.reject(new Error('dump died')),
          },
          { path: '/b', open: () => ((openedLater = true), chunks(Buffer.from('x'))) },
        ],
        { hostname: 'h' },
      ),
      /dump died/,
    );
    assert.equal(openedLater, false);
    await assert.rejects(
      backupStreams(repo, [{ path: '/a', open: () => chunks(Buffer.from('x')) }], {
        hostname: 'h',
        beforeCommit: () => Promise.reject(new Error('overall check failed')),
      }),
      /overall check failed/,
    );
    assert.equal(await snapshotCount(dir), 0);
  });

  test('rejects duplicate paths and a file below another file', async () => {
    const repo = await newTestRepo(path.join(tmp, 'bad'));
    const s = () => chunks(Buffer.from('x'));
    await assert.rejects(
      backupStreams(
        repo,
        [
          { path: '/a', open: s },
          { path: 'a', open: s },
        ],
        { hostname: 'h' },
      ),
      /distinct/,
    );
    await assert.rejects(
      backupStreams(
        repo,
        [
          { path: '/a', open: s },
          { path: '/a/b/c', open: s },
        ],
        { hostname: 'h' },
      ),
      /below the file/,
    );
  });
});
