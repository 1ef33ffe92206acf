/**
 * `holdfast check` against a corpus of deliberately damaged repositories: every damage that
 * `restic check --read-data` finds, holdfast finds too (exit 4) with a message naming the
 * damaged file or blob; intact repositories pass both. Also check on a repository restic
 * wrote and pruned, and the read-data subsets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { holdfast, repoEnv } from '../testing/cli.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { makeRepoWithHistory, openTestRepo } from '../testing/repo.js';
import { findSnapshot } from '../engine/snapshots.js';
import { restic, resticStatus } from '../testing/restic.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { parseReadDataSubset, selectPacks } from '../engine/checker.js';
import { EXIT_DAMAGED } from './commands/check.js';

const PW = 'check password';

function files(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^[0-9a-f]{64}$/.test(f)) : [];
}

function packs(repo: string): string[] {
  return fs.readdirSync(path.join(repo, 'data')).flatMap((d) => files(path.join(repo, 'data', d)));
}

function packPath(repo: string, id: string): string {
  return path.join(repo, 'data', id.slice(0, 2), id);
}

function flipByte(file: string, at: (size: number) => number): void {
  fs.chmodSync(file, 0o600);
  const bytes = fs.readFileSync(file);
  bytes[at(bytes.length)] ^= 0x01;
  fs.writeFileSync(file, bytes);
}

describe('check finds what restic check --read-data finds', () => {
  let tmp: string;
  let base: string;
  let snapshots: string[];

  before(async () => {
    tmp = makeTempDir('check');
    base = path.join(tmp, 'base');
    snapshots = await makeRepoWithHistory(base, path.join(tmp, 'src'), PW);
  });
  after(() => removeDir(tmp));

  function damaged(name: string, damage: (repo: string) => string): { repo: string; target: string } {
    const repo = path.join(tmp, name);
    fs.cpSync(base, repo, { recursive: true });
    return { repo, target: damage(repo) };
  }

  function bothCheck(repo: string) {
    const r = resticStatus(['check', '--read-data'], { repo, password: PW });
    const h = holdfast(['check', '--read-data'], { env: repoEnv(repo, PW) });
    return { restic: r, holdfast: { code: h.code, text: h.stdout.toString() + h.stderr } };
  }

  test('an intact repository passes both checks', () => {
    const { restic: r, holdfast: h } = bothCheck(base);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(h.code, 0, h.text);
    assert.match(h.text, /no errors were found \(3 snapshots, \d+ packs, \d+ packs .* read and verified\)/);
  });

  const cases: [string, (repo: string) => string, RegExp?][] = [
    [
      'a flipped byte inside a pack',
      (repo) => {
        const id = packs(repo).sort(
          (a, b) => fs.statSync(packPath(repo, b)).size - fs.statSync(packPath(repo, a)).size,
        )[0];
        flipByte(packPath(repo, id), () => 100);
        return id;
      },
      /blob [0-9a-f]{64}/,
    ],
    [
      'a flipped byte in an index file',
      (repo) => {
        const id = files(path.join(repo, 'index'))[0];
        flipByte(path.join(repo, 'index', id), (n) => Math.floor(n / 2));
        return id;
      },
    ],
    [
      'a flipped byte in a snapshot file',
      (repo) => {
        const id = snapshots[1];
        flipByte(path.join(repo, 'snapshots', id), (n) => n - 5);
        return id;
      },
    ],
    [
      'a missing pack',
      (repo) => {
        const id = packs(repo)[0];
        fs.rmSync(packPath(repo, id));
        return id;
      },
    ],
    [
      'a truncated pack',
      (repo) => {
        const id = packs(repo)[1];
        fs.chmodSync(packPath(repo, id), 0o600);
        fs.truncateSync(packPath(repo, id), fs.statSync(packPath(repo, id)).size - 10);
        return id;
      },
    ],
  ];

  for (const [name, damage, extra] of cases) {
    test(`${name} is found and named by both`, () => {
      const { repo, target } = damaged(name.replace(/\W+/g, '-'), damage);
      const { restic: r, holdfast: h } = bothCheck(repo);
      assert.notEqual(r.code, 0, 'restic finds the damage');
      assert.equal(h.code, EXIT_DAMAGED, h.text);
      assert.ok(h.text.includes(target), `holdfast names ${target}:\n${h.text}`);
      if (extra) assert.match(h.text, extra);
      assert.match(h.text, /the repository is damaged/);
    });
  }

  test('a missing tree blob (its pack gone, the index rebuilt by restic) is found with the snapshot it breaks', async () => {
    const { repo } = damaged('missing-tree', () => '');
    const hf = await openTestRepo(repo, PW);
    await hf.loadIndex();
    const newest = await findSnapshot(hf, snapshots[2]);
    const loc = hf.index.tree.get(newest.snapshot.tree);
    assert.ok(loc, 'the root tree is indexed');
    fs.rmSync(packPath(repo, loc.packId));
    restic(['rebuild-index'], { repo, password: PW });
    const { restic: r, holdfast: h } = bothCheck(repo);
    assert.notEqual(r.code, 0);
    assert.equal(h.code, EXIT_DAMAGED, h.text);
    assert.ok(h.text.includes(`tree ${newest.snapshot.tree}`), h.text);
    assert.ok(h.text.includes(`snapshot ${snapshots[2]} is affected`), h.text);
  });

  test('a repository restic wrote and pruned passes holdfast check --read-data', () => {
    const repo = path.join(tmp, 'restic-pruned');
    const src = path.join(tmp, 'restic-src');
    fs.mkdirSync(src);
    restic(['init'], { repo, password: PW });
    for (let i = 0; i < 3; i++) {
      fs.writeFileSync(path.join(src, `f${i}`), pseudoRandomBytes(600_000, i));
      if (i > 0) fs.rmSync(path.join(src, `f${i - 1}`));
      restic(['backup', src], { repo, password: PW });
    }
    restic(['forget', '--keep-last', '1', '--prune', '--max-unused', '0'], { repo, password: PW });
    const h = holdfast(['check', '--read-data'], { env: repoEnv(repo, PW) });
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout.toString(), /no errors were found \(1 snapshots/);
  });

  test('read-data subsets: n/m buckets partition the packs; a percentage picks that share', () => {
    const ids = Array.from({ length: 300 }, (_, i) =>
      i
        .toString(16)
        .padStart(64, '0')
        .replace(/^../, (i % 256).toString(16).padStart(2, '0')),
    );
    const buckets = [1, 2, 3].map((n) => selectPacks(ids, parseReadDataSubset(`${n}/3`)));
    assert.equal(buckets.flat().length, ids.length);
    assert.equal(new Set(buckets.flat()).size, ids.length);
    assert.equal(selectPacks(ids, parseReadDataSubset('10%')).length, 30);
    assert.throws(() => parseReadDataSubset('4/3'), /1 <= n <= m/);
    assert.throws(() => parseReadDataSubset('abc'), /n\/m/);
  });
});
