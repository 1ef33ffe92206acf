/**
 * prune removes what no snapshot references and nothing else: after forget + prune restic
 * check --read-data passes and every kept snapshot restores identically; a prune killed with
 * SIGKILL at each step leaves a repository restic accepts, and the next prune finishes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { holdfastOk, repoEnv } from '../testing/cli.js';
import { compareTrees } from '../testing/fixtures.js';
import { makeRepoWithHistory } from '../testing/repo.js';
import { restic, resticStatus } from '../testing/restic.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';

const PW = 'prune password';
const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function packCount(repo: string): number {
  return fs
    .readdirSync(path.join(repo, 'data'))
    .reduce((n, d) => n + fs.readdirSync(path.join(repo, 'data', d)).length, 0);
}

/** Runs pruneRepository in a child process that kills itself with SIGKILL at `stopAt`. */
function pruneKilledAt(repo: string, stopAt: string): number | null {
  const script = `
    import { openTestRepo } from ${JSON.stringify(path.join(DIST, 'testing/repo.js'))};
    import { pruneRepository } from ${JSON.stringify(path.join(DIST, 'engine/prune.js'))};
    const die = () => process.kill(process.pid, 'SIGKILL');
    const repo = await openTestRepo(${JSON.stringify(repo)}, ${JSON.stringify(PW)});
    await pruneRepository(repo, {
      maxUnusedPercent: 0,
      onPhase: (p) => { if (p === ${JSON.stringify(stopAt)}) die(); },
      onProgress: (p) => { if (${JSON.stringify(stopAt)} === 'mid-delete' && p.phase === 'delete') die(); },
    });
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.stderr.includes('Error'), false, r.stderr);
  return r.status;
}

describe('prune', () => {
  let tmp: string;
  let base: string;
  let src: string;
  let snapshots: string[];
  const restoredCopies = new Map<string, string>();

  before(async () => {
    tmp = makeTempDir('prune');
    base = path.join(tmp, 'base');
    src = path.join(tmp, 'src');
    snapshots = await makeRepoWithHistory(base, src, PW, 4);
    // What each snapshot holds, restored by restic before any prune, to compare against later.
    for (const id of snapshots.slice(2)) {
      const target = path.join(tmp, `expected-${id.slice(0, 8)}`);
      restic(['restore', id, '--target', target], { repo: base, password: PW });
      restoredCopies.set(id, target);
    }
    // Forget the two oldest snapshots; their unique data becomes garbage.
    restic(['forget', snapshots[0], snapshots[1]], { repo: base, password: PW });
  });
  after(() => removeDir(tmp));

  function assertKeptSnapshotsRestore(repo: string, label: string): void {
    for (const [id, expected] of restoredCopies) {
      const target = path.join(tmp, `${label}-${id.slice(0, 8)}`);
      restic(['restore', id, '--target', target], { repo, password: PW });
      assert.deepEqual(compareTrees(expected, target), [], `snapshot ${id} restores identically`);
    }
  }

  test('forget + prune frees space; restic check --read-data passes and kept snapshots restore', () => {
    const repo = path.join(tmp, 'plain');
    fs.cpSync(base, repo, { recursive: true });
    const before = packCount(repo);
    const env = repoEnv(repo, PW);
    const dry = JSON.parse(holdfastOk(['prune', '--dry-run', '--json'], { env }).stdout.toString());
    assert.equal(dry.dryRun, true);
    assert.ok(dry.unusedBytesBefore > 0, 'the forgotten snapshots left unused data');
    assert.equal(packCount(repo), before, 'a dry run changes nothing');

    const out = JSON.parse(holdfastOk(['prune', '--max-unused', '0%', '--json'], { env }).stdout.toString());
    assert.equal(out.unusedBytesAfter, 0);
    assert.ok(out.packsRemoved + out.packsRepacked > 0);
    assert.match(restic(['check', '--read-data'], { repo, password: PW }), /no errors were found/);
    assertKeptSnapshotsRestore(repo, 'plain');

    const again = JSON.parse(holdfastOk(['prune', '--json'], { env }).stdout.toString());
    assert.equal(again.unusedBytesBefore, 0, 'nothing is left to prune');
    assert.equal(again.packsRemoved + again.packsRepacked + again.packsUnindexed, 0);
  });

  test('the default 5% limit leaves small waste in place but removes wholly unused packs', () => {
    const repo = path.join(tmp, 'limit');
    fs.cpSync(base, repo, { recursive: true });
    const out = JSON.parse(
      holdfastOk(['prune', '--max-unused', 'unlimited', '--json'], {
        env: repoEnv(repo, PW),
      }).stdout.toString(),
    );
    assert.equal(out.packsRepacked, 0, 'unlimited waste means no repacking');
    assert.match(restic(['check', '--read-data'], { repo, password: PW }), /no errors were found/);
  });

  for (const stopAt of ['planned', 'repacked', 'indexed', 'old-index-removed', 'mid-delete']) {
    test(`a prune killed with SIGKILL at "${stopAt}" loses nothing and the next prune finishes`, () => {
      const repo = path.join(tmp, `killed-${stopAt}`);
      fs.cpSync(base, repo, { recursive: true });
      assert.equal(pruneKilledAt(repo, stopAt), null, 'the child was killed');
      const check = resticStatus(['check'], { repo, password: PW });
      assert.equal(check.code, 0, check.stderr + check.stdout);
      assertKeptSnapshotsRestore(repo, `killed-${stopAt}`);

      holdfastOk(['prune', '--max-unused', '0%'], { env: repoEnv(repo, PW) });
      const final = restic(['check', '--read-data'], { repo, password: PW });
      assert.match(final, /no errors were found/);
      assert.doesNotMatch(final, /not referenced in any index/);
      assertKeptSnapshotsRestore(repo, `finished-${stopAt}`);
    });
  }
});
