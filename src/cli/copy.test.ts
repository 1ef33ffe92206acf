/**
 * `holdfast copy` and `init --copy-chunker-params` against the real restic 0.14: a copy into
 * a repository with another password restores identically and passes `restic check
 * --read-data`; copying again transfers nothing; restic-written sources and restic-made
 * copies are handled as restic would; a destination sharing the source's polynomial
 * deduplicates a later backup of the same files.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { holdfastOk, repoEnv } from '../testing/cli.js';
import { compareTrees, makeTestTree } from '../testing/fixtures.js';
import { restic, resticJson } from '../testing/restic.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';

const PW_SRC = 'source password';
const PW_DST = 'destination password';

interface Summary {
  snapshots_copied: number;
  snapshots_skipped: number;
  blobs_copied: number;
  bytes_copied: number;
  snapshots: { source_id: string; copy_id?: string; existing_id?: string }[];
}

interface ResticSnapshot {
  id: string;
  tree: string;
  parent?: string;
  original?: string;
  paths: string[];
  hostname: string;
}

/** Every file name below a repository's data/ and snapshots/ (what a copy would add). */
function repoFiles(repo: string): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(path.join(repo, 'data')))
    for (const f of fs.readdirSync(path.join(repo, 'data', d))) out.push(`data/${f}`);
  for (const f of fs.readdirSync(path.join(repo, 'snapshots'))) out.push(`snapshots/${f}`);
  return out.sort();
}

function lastJson<T>(stdout: Buffer): T {
  return JSON.parse(stdout.toString().trim().split('\n').pop()!) as T;
}

describe('copy between repositories', () => {
  let tmp: string;
  let source: string;
  let srcRepo: string;
  let dstRepo: string;
  let dstPwFile: string;
  let srcPwFile: string;
  let srcSnapshot: string;

  before(() => {
    tmp = makeTempDir('copy');
    source = path.join(tmp, 'source');
    makeTestTree(source, { largeSize: 3 * 1024 * 1024 });
    srcRepo = path.join(tmp, 'src-repo');
    dstRepo = path.join(tmp, 'dst-repo');
    dstPwFile = path.join(tmp, 'dst-password');
    srcPwFile = path.join(tmp, 'src-password');
    fs.writeFileSync(dstPwFile, PW_DST + '\n');
    fs.writeFileSync(srcPwFile, PW_SRC + '\n');
    holdfastOk(['init'], { env: repoEnv(srcRepo, PW_SRC) });
    const out = holdfastOk(['backup', source, '--host', 'copy-host', '--tag', 'nightly', '--json'], {
      env: repoEnv(srcRepo, PW_SRC),
    });
    srcSnapshot = lastJson<{ snapshot_id: string }>(out.stdout).snapshot_id;
    holdfastOk(['init'], { env: repoEnv(dstRepo, PW_DST) });
  });
  after(() => removeDir(tmp));

  test('a copy into a repository with another password restores identically and passes restic check --read-data', () => {
    const out = holdfastOk(['copy', '--repo2', dstRepo, '--password-file2', dstPwFile, '--json'], {
      env: repoEnv(srcRepo, PW_SRC),
    });
    const summary = lastJson<Summary>(out.stdout);
    assert.equal(summary.snapshots_copied, 1);
    assert.ok(summary.blobs_copied > 0);
    assert.equal(summary.snapshots[0].source_id, srcSnapshot);

    assert.match(
      restic(['check', '--read-data'], { repo: dstRepo, password: PW_DST }),
      /no errors were found/,
    );
    const [src] = resticJson<ResticSnapshot[]>(['snapshots'], { repo: srcRepo, password: PW_SRC });
    const snaps = resticJson<ResticSnapshot[]>(['snapshots'], { repo: dstRepo, password: PW_DST });
    assert.equal(snaps.length, 1);
    assert.equal(snaps[0].id, summary.snapshots[0].copy_id);
    assert.equal(snaps[0].original, srcSnapshot);
    assert.equal(snaps[0].tree, src.tree);
    assert.equal(snaps[0].hostname, 'copy-host');
    assert.equal(snaps[0].parent, undefined);

    const target = path.join(tmp, 'restored');
    holdfastOk(['restore', 'latest', '--target', target, '--verify'], { env: repoEnv(dstRepo, PW_DST) });
    assert.deepEqual(compareTrees(source, path.join(target, source), { mtimeToleranceNs: 1000n }), []);
  });

  test('copying again transfers nothing: no new pack, index or snapshot (both option spellings)', () => {
    const before = [...repoFiles(dstRepo), ...fs.readdirSync(path.join(dstRepo, 'index'))];
    const legacy = lastJson<Summary>(
      holdfastOk(['copy', '--repo2', dstRepo, '--password-file2', dstPwFile, '--json'], {
        env: repoEnv(srcRepo, PW_SRC),
      }).stdout,
    );
    // restic 0.14's newer spelling: --repo is the destination, --from-repo the source.
    const fromRepo = lastJson<Summary>(
      holdfastOk(['copy', '--from-repo', srcRepo, '--from-password-file', srcPwFile, '--json'], {
        env: repoEnv(dstRepo, PW_DST),
      }).stdout,
    );
    for (const s of [legacy, fromRepo]) {
      assert.equal(s.snapshots_copied, 0);
      assert.equal(s.snapshots_skipped, 1);
      assert.equal(s.blobs_copied, 0);
    }
    assert.deepEqual([...repoFiles(dstRepo), ...fs.readdirSync(path.join(dstRepo, 'index'))], before);
  });

  test('a restic-written repository copies to holdfast, and a snapshot restic already copied is skipped', () => {
    const small = path.join(source, 'dir');
    const rRepo = path.join(tmp, 'restic-src');
    restic(['init'], { repo: rRepo, password: PW_SRC });
    restic(['backup', small, '--tag', 'r'], { repo: rRepo, password: PW_SRC });

    // holdfast copies a restic snapshot; restic checks and restores the result.
    const hfDest = path.join(tmp, 'hf-from-restic');
    holdfastOk(['init'], { env: repoEnv(hfDest, PW_DST) });
    const s = lastJson<Summary>(
      holdfastOk(['copy', '--from-repo', rRepo, '--from-password-file', srcPwFile, '--json'], {
        env: repoEnv(hfDest, PW_DST),
      }).stdout,
    );
    assert.equal(s.snapshots_copied, 1);
    assert.match(
      restic(['check', '--read-data'], { repo: hfDest, password: PW_DST }),
      /no errors were found/,
    );
    const target = path.join(tmp, 'restic-restored');
    restic(['restore', 'latest', '--target', target], { repo: hfDest, password: PW_DST });
    // hardlink-b's other name lies outside dir/, so the restored copy has one link.
    assert.deepEqual(compareTrees(small, path.join(target, small)), [
      'link count differs: hardlink-b 2 vs 1',
    ]);

    // restic copies first; holdfast then recognises the copy and adds nothing.
    const rDest = path.join(tmp, 'restic-dest');
    restic(['init'], { repo: rDest, password: PW_DST });
    restic(['copy', '--from-repo', rRepo, '--from-password-file', srcPwFile], {
      repo: rDest,
      password: PW_DST,
    });
    const files = repoFiles(rDest);
    const again = lastJson<Summary>(
      holdfastOk(['copy', '--repo2', rDest, '--password-file2', dstPwFile, '--json'], {
        env: repoEnv(rRepo, PW_SRC),
      }).stdout,
    );
    assert.equal(again.snapshots_skipped, 1);
    assert.equal(again.snapshots_copied, 0);
    assert.deepEqual(repoFiles(rDest), files);

    // And restic recognises holdfast's copy the same way.
    restic(['copy', '--from-repo', rRepo, '--from-password-file', srcPwFile], {
      repo: hfDest,
      password: PW_DST,
    });
    assert.equal(resticJson<unknown[]>(['snapshots'], { repo: hfDest, password: PW_DST }).length, 1);
  });

  test('init --copy-chunker-params takes the source polynomial, so a backup after a copy stores no new data', () => {
    const polynomial = (repo: string, password: string) =>
      JSON.parse(restic(['cat', 'config'], { repo, password })).chunker_polynomial as string;
    const viaFrom = path.join(tmp, 'chunker-from');
    const viaRepo2 = path.join(tmp, 'chunker-repo2');
    holdfastOk(['init', '--copy-chunker-params', '--from-repo', srcRepo, '--from-password-file', srcPwFile], {
      env: repoEnv(viaFrom, PW_DST),
    });
    // restic 0.14's older spelling: for init, --repo2 names the repository to copy from.
    holdfastOk(['init', '--copy-chunker-params', '--repo2', srcRepo, '--password-file2', srcPwFile], {
      env: repoEnv(viaRepo2, PW_DST),
    });
    const srcPoly = polynomial(srcRepo, PW_SRC);
    assert.equal(polynomial(viaFrom, PW_DST), srcPoly);
    assert.equal(polynomial(viaRepo2, PW_DST), srcPoly);
    assert.notEqual(polynomial(dstRepo, PW_DST), srcPoly); // a plain init draws its own

    const s = lastJson<Summary>(
      holdfastOk(
        ['copy', srcSnapshot.slice(0, 8), '--repo2', viaFrom, '--password-file2', dstPwFile, '--json'],
        {
          env: repoEnv(srcRepo, PW_SRC),
        },
      ).stdout,
    );
    assert.equal(s.snapshots_copied, 1);
    assert.ok(repoFiles(viaFrom).some((f) => f.startsWith('data/')));
    // Reading every file again with the same polynomial cuts the same chunks: no new data
    // blob (tree blobs may change: the parent directories' mtimes moved since).
    const dataBlobs = () =>
      restic(['list', 'blobs'], { repo: viaFrom, password: PW_DST })
        .split('\n')
        .filter((l) => l.startsWith('data '))
        .sort();
    const beforeBackup = dataBlobs();
    holdfastOk(['backup', source, '--host', 'copy-host', '--tag', 'nightly', '--force'], {
      env: repoEnv(viaFrom, PW_DST),
    });
    assert.deepEqual(dataBlobs(), beforeBackup);
    assert.match(
      restic(['check', '--read-data'], { repo: viaFrom, password: PW_DST }),
      /no errors were found/,
    );
  });
});
