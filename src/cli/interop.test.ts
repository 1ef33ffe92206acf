/**
 * Interoperability with the real restic binary, both ways: what holdfast writes passes
 * `restic check --read-data` and restores identically with restic; what restic writes
 * lists and restores identically with holdfast. Also stream backups, both ways.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { holdfast, holdfastOk, repoEnv } from '../testing/cli.js';
import { compareTrees, makeTestTree, pseudoRandomBytes } from '../testing/fixtures.js';
import { restic, resticBuffer, resticJson } from '../testing/restic.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';

const PW = 'interop password';

describe('interoperability with restic 0.14', () => {
  let tmp: string;
  let source: string;

  before(() => {
    tmp = makeTempDir('interop');
    source = path.join(tmp, 'source');
    makeTestTree(source);
  });
  after(() => removeDir(tmp));

  test('a holdfast backup of every kind of file passes restic check --read-data and restic restores it identically', () => {
    const repo = path.join(tmp, 'hf-repo');
    const env = repoEnv(repo, PW);
    holdfastOk(['init'], { env });
    const out = holdfastOk(['backup', source, '--tag', 'interop', '--host', 'test-host', '--json'], { env });
    const summary = JSON.parse(out.stdout.toString().trim().split('\n').pop()!);
    assert.match(summary.snapshot_id, /^[0-9a-f]{64}$/);

    const check = restic(['check', '--read-data'], { repo, password: PW });
    assert.match(check, /no errors were found/);

    const snaps = resticJson<{ id: string; hostname: string; tags: string[]; paths: string[] }[]>(
      ['snapshots'],
      { repo, password: PW },
    );
    assert.equal(snaps.length, 1);
    assert.equal(snaps[0].id, summary.snapshot_id);
    assert.equal(snaps[0].hostname, 'test-host');
    assert.deepEqual(snaps[0].tags, ['interop']);
    assert.deepEqual(snaps[0].paths, [source]);

    const target = path.join(tmp, 'restic-restored');
    restic(['restore', 'latest', '--target', target], { repo, password: PW });
    const diffs = compareTrees(source, path.join(target, source));
    // restic 0.14 predates linktarget_raw and restores a non-UTF-8 link target lossily.
    assert.deepEqual(diffs, ['link target differs: link-bad-utf8']);
  });

  test('a tree backed up by restic lists, restores and verifies identically with holdfast', () => {
    const repo = path.join(tmp, 'restic-repo');
    restic(['init'], { repo, password: PW });
    restic(['backup', source], { repo, password: PW });
    const env = repoEnv(repo, PW);

    const snaps = JSON.parse(holdfastOk(['snapshots', '--json'], { env }).stdout.toString());
    const resticSnaps = resticJson<{ id: string }[]>(['snapshots'], { repo, password: PW });
    assert.deepEqual(
      snaps.map((s: { id: string }) => s.id),
      resticSnaps.map((s) => s.id),
    );

    const listing = holdfastOk(['ls', 'latest'], { env }).stdout.toString();
    const resticListing = restic(['ls', 'latest'], { repo, password: PW });
    assert.deepEqual(listing.split('\n').slice(1), resticListing.split('\n').slice(1));

    const target = path.join(tmp, 'hf-restored');
    holdfastOk(['restore', 'latest', '--target', target, '--verify'], { env });
    const diffs = compareTrees(source, path.join(target, source), { mtimeToleranceNs: 1000n });
    // restic 0.14 stored the non-UTF-8 link target lossily; nothing else may differ.
    assert.deepEqual(diffs, ['link target differs: link-bad-utf8']);
  });

  test('holdfast restores its own backup identically, non-UTF-8 link targets included', () => {
    const repo = path.join(tmp, 'hf-repo');
    const env = repoEnv(repo, PW);
    const target = path.join(tmp, 'hf-own-restore');
    holdfastOk(['restore', 'latest', '--target', target, '--verify'], { env });
    assert.deepEqual(compareTrees(source, path.join(target, source), { mtimeToleranceNs: 1000n }), []);
  });

  test('cat takes a unique ID prefix as restic does, and a missing ID is a clear error', () => {
    const repo = path.join(tmp, 'hf-repo');
    const env = repoEnv(repo, PW);
    const id = resticJson<{ id: string }[]>(['snapshots'], { repo, password: PW })[0].id;
    const full = holdfastOk(['cat', 'snapshot', id], { env }).stdout;
    assert.deepEqual(holdfastOk(['cat', 'snapshot', id.slice(0, 8)], { env }).stdout, full);
    // restic 0.14 prints the snapshot as it decodes it (without fields it does not know).
    const ours = JSON.parse(full.toString()) as { tree: string; time: string };
    const theirs = JSON.parse(restic(['cat', 'snapshot', id], { repo, password: PW })) as typeof ours;
    assert.deepEqual([ours.tree, ours.time], [theirs.tree, theirs.time]);
    for (const type of ['snapshot', 'index', 'key', 'lock']) {
      const r = holdfast(['cat', type, '0000000000'], { env });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`no ${type} with ID 0000000000`));
      assert.doesNotMatch(r.stderr, /unexpected error/);
    }
  });

  test('a sub-path restores on its own (ID:SUBPATH)', () => {
    const env = repoEnv(path.join(tmp, 'hf-repo'), PW);
    const target = path.join(tmp, 'hf-sub');
    holdfastOk(['restore', `latest:${source}/dir`, '--target', target], { env });
    // hardlink-b's other name lies outside dir/, so the restored copy has one link.
    assert.deepEqual(compareTrees(path.join(source, 'dir'), target, { mtimeToleranceNs: 1000n }), [
      'link count differs: hardlink-b 2 vs 1',
    ]);
  });

  test('stream backups round-trip both ways: holdfast --stdin to restic dump, restic --stdin to holdfast dump', () => {
    const data = Buffer.concat([pseudoRandomBytes(3 * 1024 * 1024 + 17, 5), Buffer.from('end of dump')]);
    const hfRepo = path.join(tmp, 'hf-repo');
    holdfastOk(['backup', '--stdin', '--stdin-filename', 'db/dump.sql'], {
      env: repoEnv(hfRepo, PW),
      input: data,
    });
    assert.ok(resticBuffer(['dump', 'latest', '/db/dump.sql'], { repo: hfRepo, password: PW }).equals(data));
    assert.match(restic(['check', '--read-data'], { repo: hfRepo, password: PW }), /no errors were found/);

    const rRepo = path.join(tmp, 'restic-repo');
    restic(['backup', '--stdin', '--stdin-filename', 'dump.sql'], { repo: rRepo, password: PW, input: data });
    const dumped = holdfastOk(['dump', 'latest', '/dump.sql'], { env: repoEnv(rRepo, PW) }).stdout;
    assert.ok(dumped.equals(data));
  });

  test('a stream taken from a command is stored; a failing command writes no snapshot', () => {
    const repo = path.join(tmp, 'cmd-repo');
    const env = repoEnv(repo, PW);
    holdfastOk(['init'], { env });
    holdfastOk(
      [
        'backup',
        '--stdin-filename',
        'out.txt',
        '--stdin-from-command',
        '--',
        'sh',
        '-c',
        'echo from-command',
      ],
      { env },
    );
    assert.equal(
      resticBuffer(['dump', 'latest', '/out.txt'], { repo, password: PW }).toString(),
      'from-command\n',
    );

    const bad = holdfast(
      [
        'backup',
        '--stdin-filename',
        'bad.txt',
        '--stdin-from-command',
        '--',
        'sh',
        '-c',
        'echo partial; exit 3',
      ],
      { env },
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /exited with code 3/);
    const snaps = resticJson<unknown[]>(['snapshots'], { repo, password: PW });
    assert.equal(snaps.length, 1);
    assert.match(restic(['check'], { repo, password: PW }), /no errors were found/);
    assert.ok(fs.existsSync(path.join(repo, 'config')));
  });
});
