/**
 * The local backend passes the conformance suite (saveFile included), bare and inside the
 * decorator stack that openBackend builds; holdfast's --append-only guard refuses removes
 * except of locks, and never replaces a file, whether given as bytes or as a file to copy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isHoldfastError } from '../errors.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { appendOnlyBackend } from './append-only.js';
import { contentNamed, describeConformance } from './conformance.js';
import { localBackend } from './local.js';
import { openBackend } from './open.js';

function localTarget(name: string, wrap: (dir: string) => ReturnType<typeof localBackend>) {
  return async () => {
    const tmp = makeTempDir(name);
    const dir = path.join(tmp, 'repo');
    return {
      backend: wrap(dir),
      putRaw: async (rel: string, data: Buffer) => {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), data);
      },
      cleanup: async () => removeDir(tmp),
    };
  };
}

describeConformance(
  'local',
  localTarget('conf-local', (dir) => localBackend(dir)),
);
describeConformance(
  'local through openBackend (retry, limit, timeout)',
  localTarget('conf-local-stack', (dir) => openBackend(`local:${dir}`)),
);

describe('append-only guard', () => {
  let tmp: string;
  before(() => (tmp = makeTempDir('append-only')));
  after(() => removeDir(tmp));

  test('saves work; removing anything but a lock is an APPEND_ONLY error that changes nothing', async () => {
    const be = openBackend(path.join(tmp, 'r1'), { appendOnly: true });
    await be.create();
    const snap = contentNamed('snapshot', 300);
    const lock = contentNamed('lock', 100);
    await be.save(snap.h, snap.data);
    await be.save(lock.h, lock.data);
    await assert.rejects(be.remove(snap.h), (err) => {
      assert.ok(isHoldfastError(err, 'APPEND_ONLY'));
      assert.match(err.message, /append-only/);
      return true;
    });
    assert.ok((await be.load(snap.h)).equals(snap.data));
    await be.remove(lock.h);
    assert.deepEqual(await be.list('lock'), []);
    assert.equal(await be.canDelete!('pack'), false);
    assert.equal(await be.canDelete!('lock'), true);
  });

  test('an existing file is never replaced: same content is accepted, other content refused', async () => {
    const be = appendOnlyBackend(localBackend(path.join(tmp, 'r2')));
    await be.create();
    const cfg = Buffer.from('config');
    await be.save({ type: 'config', name: '' }, cfg);
    await assert.rejects(be.save({ type: 'config', name: '' }, Buffer.from('other')), (err) =>
      isHoldfastError(err, 'APPEND_ONLY'),
    );
    const idx = contentNamed('index', 50);
    await be.save(idx.h, idx.data);
    await be.save(idx.h, idx.data);
    assert.ok((await be.load({ type: 'config', name: '' })).equals(cfg));
  });

  test('saveFile is guarded like save: an existing pack is kept, never replaced', async () => {
    const be = openBackend(path.join(tmp, 'r3'), { appendOnly: true });
    await be.create();
    const pack = contentNamed('pack', 5000);
    const src = path.join(tmp, 'pack-source');
    fs.writeFileSync(src, pack.data);
    await be.saveFile!(pack.h, src, pack.data.length);
    const stored = path.join(tmp, 'r3', 'data', pack.h.name.slice(0, 2), pack.h.name);
    const inode = fs.statSync(stored).ino;
    await be.saveFile!(pack.h, src, pack.data.length);
    assert.equal(fs.statSync(stored).ino, inode, 'kept, not copied again');
    await assert.rejects(be.saveFile!(pack.h, src, pack.data.length + 1), (err) =>
      isHoldfastError(err, 'APPEND_ONLY'),
    );
    assert.ok((await be.load(pack.h)).equals(pack.data));
  });
});
