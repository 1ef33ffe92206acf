/**
 * The git source against real repositories: every ref (branches, annotated and lightweight
 * tags, notes, HEAD) and every reachable object is equal after restore into a bare
 * repository, also for a branch created after the first backup; a missing repository and an
 * empty one fail without a snapshot; a password in an https URL never reaches git's arguments.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Repository } from '../engine/repository.js';
import { listSnapshots } from '../engine/snapshots.js';
import { isHoldfastError } from '../errors.js';
import { newTestRepo, snapshotCount } from '../testing/sources.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { backupGit, parseGitUrl, repositoryName, restoreGit } from './git.js';
import { readManifest } from './source-snapshot.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.org',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.org',
  GIT_CONFIG_NOSYSTEM: '1',
};

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { env: GIT_ENV }).toString('utf8');
}

function refs(dir: string): string {
  return git(dir, 'for-each-ref', '--format=%(objectname) %(objecttype) %(refname)');
}

function objects(dir: string): string {
  return git(dir, 'rev-list', '--all', '--objects').split('\n').sort().join('\n');
}

describe('git source', () => {
  let tmp: string;
  let src: string;
  let repoDir: string;
  let repo: Repository;

  before(async () => {
    tmp = makeTempDir('git-source');
    src = path.join(tmp, 'app.git-work');
    repoDir = path.join(tmp, 'repo');
    repo = await newTestRepo(repoDir);
    fs.mkdirSync(src);
    git(src, 'init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(src, 'README.md'), '# app\nGrüße 🎉\n');
    git(src, 'add', '.');
    git(src, 'commit', '-q', '-m', 'first');
    git(src, 'tag', '-a', 'v1.0', '-m', 'release 1.0');
    git(src, 'tag', 'light');
    git(src, 'checkout', '-q', '-b', 'feature/x');
    fs.writeFileSync(path.join(src, 'feature.txt'), 'feature\n');
    git(src, 'add', '.');
    git(src, 'commit', '-q', '-m', 'feature');
    git(src, 'notes', 'add', '-m', 'a note', 'HEAD');
    git(src, 'checkout', '-q', 'main');
  });
  after(() => removeDir(tmp));

  test('every ref and object is equal after restore, including a branch and tag made after the first backup', async () => {
    const first = await backupGit(repo, { type: 'git', url: src }, { hostname: 'h', asset: 'app-repo' });
    assert.deepEqual(first.snapshot.tags, ['holdfast', 'source:git', 'asset:app-repo']);
    assert.deepEqual(first.snapshot.paths, ['/git/app.git-work.bundle', '/holdfast-source.json']);
    const refsAtFirst = refs(src);

    git(src, 'checkout', '-q', '-b', 'after-first');
    fs.writeFileSync(path.join(src, 'later.txt'), 'later\n');
    git(src, 'add', '.');
    git(src, 'commit', '-q', '-m', 'after the first backup');
    git(src, 'tag', '-a', 'v2.0', '-m', 'release 2.0');
    git(src, 'checkout', '-q', 'main');
    const second = await backupGit(repo, { type: 'git', url: src }, { hostname: 'h', asset: 'app-repo' });

    const snaps = await listSnapshots(repo);
    const manifest = (await readManifest(
      repo,
      snaps.find((s) => s.id === second.snapshotId)!,
    ))!;
    assert.deepEqual(manifest.details, {
      repository: 'app.git-work',
      refs: 7,
      branches: 3,
      tags: 3,
      head: 'refs/heads/main',
    });

    const restored2 = path.join(tmp, 'restored-2.git');
    await restoreGit(
      repo,
      snaps.find((s) => s.id === second.snapshotId)!,
      { into: restored2 },
    );
    assert.equal(refs(restored2), refs(src));
    assert.match(refs(restored2), /refs\/heads\/after-first\n/);
    assert.match(refs(restored2), /tag refs\/tags\/v2\.0\n/);
    assert.equal(objects(restored2), objects(src));
    assert.equal(git(restored2, 'rev-parse', '--is-bare-repository').trim(), 'true');
    assert.equal(git(restored2, 'symbolic-ref', 'HEAD').trim(), 'refs/heads/main');
    git(restored2, 'fsck', '--strict', '--no-progress');
    assert.doesNotMatch(git(restored2, 'config', '--list'), /remote\.origin/);

    const restored1 = path.join(tmp, 'restored-1.git');
    await restoreGit(
      repo,
      snaps.find((s) => s.id === first.snapshotId)!,
      { into: restored1 },
    );
    assert.equal(refs(restored1), refsAtFirst);
  });

  test('a missing repository and an empty one fail clearly and write no snapshot', async () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    git(empty, 'init', '-q');
    for (const [url, message] of [
      [
        path.join(tmp, 'does-not-exist'),
        /git clone --mirror of .*does-not-exist exited with code 128: .*does not exist/,
      ],
      [empty, /has no branches or tags: there is nothing to back up/],
    ] as const) {
      const before = await snapshotCount(repoDir);
      let caught: unknown;
      await backupGit(repo, { type: 'git', url }, { hostname: 'h' }).catch((e: unknown) => (caught = e));
      assert.ok(isHoldfastError(caught, 'SOURCE_FAILED'), String(caught));
      assert.match(caught.message, message);
      assert.equal(await snapshotCount(repoDir), before);
    }
  });

  test('a password in an https URL goes to git through the environment, never into arguments', () => {
    const t = parseGitUrl('https://ci-bot:s3cr%40t@git.example.org/acme/app.git');
    assert.equal(t.location, 'https://ci-bot@git.example.org/acme/app.git');
    assert.equal(t.env.HOLDFAST_GIT_PASSWORD, 's3cr@t');
    assert.doesNotMatch(t.args.join(' ') + t.location + t.shown, /s3cr/);
    assert.equal(t.redact('fatal: could not read s3cr@t'), 'fatal: could not read ***');
    assert.equal(repositoryName('git@github.com:acme/app.git'), 'app');
    assert.equal(repositoryName('/srv/git/tools/'), 'tools');
  });
});
