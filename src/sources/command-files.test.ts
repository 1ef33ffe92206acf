/**
 * The command and files sources: a command's output round-trips; a command killed by a
 * signal mid-dump, one that exits non-zero, an aborted backup and a failing `before`
 * command each fail with a clear message and write no snapshot; files are backed up with
 * excludes after the `before` command ran, and restored.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Repository } from '../engine/repository.js';
import { listSnapshots } from '../engine/snapshots.js';
import { isHoldfastError, type ErrorCode } from '../errors.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { resticBuffer } from '../testing/restic.js';
import { newTestRepo, REPO_PASSWORD, snapshotCount } from '../testing/sources.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { backupCommandSource, restoreCommandSource } from './command.js';
import { backupFilesSource, restoreFilesSource } from './files.js';
import { readManifest } from './source-snapshot.js';

async function expectFailure(
  repoDir: string,
  run: () => Promise<unknown>,
  message: RegExp,
  code: ErrorCode = 'SOURCE_FAILED',
) {
  const before = await snapshotCount(repoDir);
  const caught = await run().then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(isHoldfastError(caught, code), `expected ${code}, got ${String(caught)}`);
  assert.match(caught.message, message);
  assert.equal(await snapshotCount(repoDir), before, 'no snapshot may be written');
}

describe('command and files sources', () => {
  let tmp: string;
  let repoDir: string;
  let repo: Repository;

  before(async () => {
    tmp = makeTempDir('cmd-files-source');
    repoDir = path.join(tmp, 'repo');
    repo = await newTestRepo(repoDir);
  });
  after(() => removeDir(tmp));

  test("a command's output is stored and restored byte for byte", async () => {
    const data = path.join(tmp, 'data.bin');
    fs.writeFileSync(data, pseudoRandomBytes(3_000_000, 5));
    const r = await backupCommandSource(
      repo,
      { type: 'command', command: `cat '${data}'` },
      { hostname: 'h', asset: 'vault' },
    );
    assert.deepEqual(r.snapshot.tags, ['holdfast', 'source:command', 'asset:vault']);
    assert.deepEqual(r.snapshot.paths, ['/command/vault', '/holdfast-source.json']);
    const bytes = resticBuffer(['dump', 'latest', '/command/vault'], {
      repo: repoDir,
      password: REPO_PASSWORD,
    });
    assert.ok(bytes.equals(fs.readFileSync(data)));
    const snap = (await listSnapshots(repo)).at(-1)!;
    assert.equal((await readManifest(repo, snap))!.files[0].size, 3_000_000);
    const out = path.join(tmp, 'cmd-restored');
    await restoreCommandSource(repo, snap, out);
    assert.ok(fs.readFileSync(path.join(out, 'vault')).equals(fs.readFileSync(data)));
  });

  test('a dump killed midway by a signal, a non-zero exit, an abort: clear errors and no snapshot', async () => {
    await expectFailure(
      repoDir,
      () =>
        backupCommandSource(
          repo,
          { type: 'command', command: 'head -c 2000000 /dev/urandom; kill -KILL $$' },
          { hostname: 'h' },
        ),
      /the backup command was killed by SIGKILL/,
    );
    await expectFailure(
      repoDir,
      () =>
        backupCommandSource(
          repo,
          { type: 'command', command: 'echo partial; echo "dump: disk full" >&2; exit 3', filename: 'x' },
          { hostname: 'h' },
        ),
      /the backup command exited with code 3: dump: disk full/,
    );
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('the run was stopped')), 200);
    await expectFailure(
      repoDir,
      () =>
        backupCommandSource(
          repo,
          { type: 'command', command: 'while :; do head -c 65536 /dev/zero; sleep 0.05; done' },
          { hostname: 'h', signal: ac.signal },
        ),
      /interrupted: the run was stopped; no snapshot was written/,
      'INTERRUPTED',
    );
  });

  test('files are backed up with excludes after the before command, and restored', async () => {
    const dir = path.join(tmp, 'vault-data');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'keep');
    fs.writeFileSync(path.join(dir, 'skip.tmp'), 'skip');
    const r = await backupFilesSource(
      repo,
      { type: 'files', paths: [dir], exclude: ['*.tmp'], before: `echo raft-snapshot > '${dir}/raft.snap'` },
      { hostname: 'h', asset: 'vault-files' },
    );
    assert.deepEqual(r.snapshot.tags, ['holdfast', 'source:files', 'asset:vault-files']);
    const snap = (await listSnapshots(repo)).find((s) => s.id === r.snapshotId)!;
    const out = path.join(tmp, 'files-restored');
    await restoreFilesSource(repo, snap, { into: out });
    assert.deepEqual(fs.readdirSync(path.join(out, dir)).sort(), ['keep.txt', 'raft.snap']);
    assert.equal(fs.readFileSync(path.join(out, dir, 'raft.snap'), 'utf8'), 'raft-snapshot\n');

    await expectFailure(
      repoDir,
      () =>
        backupFilesSource(
          repo,
          { type: 'files', paths: [dir], before: 'echo "vault sealed" >&2; exit 2' },
          { hostname: 'h' },
        ),
      /the before command "echo "vault sealed" >&2; exit 2" exited with code 2: vault sealed/,
    );
    await expectFailure(
      repoDir,
      () => backupFilesSource(repo, { type: 'files', paths: ['relative/dir'] }, { hostname: 'h' }),
      /is relative/,
      'INVALID_ARGUMENT',
    );
  });
});
