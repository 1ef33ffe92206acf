/**
 * `holdfast forget` against restic 0.14 on the same repository: for every hand-checked
 * retention set, restic's `forget --dry-run --json` and holdfast's print the same groups,
 * the same keep/remove decisions and the same reasons. Then a real forget: the removed
 * snapshots are gone, restic check passes, and a legal-hold (keep-tag) snapshot survives.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { cleanEnv, holdfast, holdfastOk, repoEnv } from '../testing/cli.js';
import { restic, resticBuffer, resticJson } from '../testing/restic.js';
import {
  filterArgs,
  hostOf,
  policyArgs,
  RETENTION_SETS,
  snapshotTime,
  type RetentionSet,
} from '../testing/retention-sets.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';

const PW = 'forget password';
const run = promisify(execFile);

/** restic's environment with an explicit zone (restic reads --time and decodes times in it). */
function resticEnv(repo: string, tz: string): NodeJS.ProcessEnv {
  return cleanEnv({ TZ: tz, RESTIC_PASSWORD: PW, RESTIC_REPOSITORY: repo });
}

/** Runs jobs with at most `limit` at a time (restic spends most of a backup waiting). */
async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return out;
}

interface Group {
  host: string;
  paths: string[] | null;
  tags: string[] | null;
  keep: { id: string; time: string }[] | null;
  remove: { id: string; time: string }[] | null;
  reasons: { snapshot: { time: string }; matches: string[]; counters: Record<string, number> }[] | null;
}

const byKey = (groups: Group[]) =>
  [...groups].sort((a, b) => {
    const ka = JSON.stringify([a.host, a.paths, a.tags]);
    const kb = JSON.stringify([b.host, b.paths, b.tags]);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });

function forgetArgs(set: RetentionSet, index: number): string[] {
  return [
    'forget',
    '--dry-run',
    ...policyArgs(set.policy),
    ...filterArgs(index, set),
    ...(set.groupBy === undefined ? [] : ['--group-by', set.groupBy]),
  ];
}

describe('forget --dry-run --json decides exactly as restic 0.14', () => {
  let tmp: string;
  let repo: string;
  /** Short ID (restic 0.14's backup summary) of each set's snapshot, by set index and label. */
  const ids: Record<string, string>[] = [];

  before(async () => {
    tmp = makeTempDir('forget-sets');
    repo = path.join(tmp, 'repo');
    restic(['init'], { repo, password: PW });
    const jobs = RETENTION_SETS.flatMap((set, i) =>
      set.snapshots.map((s) => async () => {
        const args = ['--no-cache', '--json', 'backup', '--stdin', '--stdin-filename', s.file ?? 'data'];
        args.push('--host', hostOf(i, s), '--time', s.time);
        for (const t of s.tags ?? []) args.push('--tag', t);
        const child = run('restic', args, { env: resticEnv(repo, s.tz ?? set.tz) });
        child.child.stdin!.end(`${i}/${s.label}`);
        const { stdout } = await child;
        const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { snapshot_id: string };
        return { i, label: s.label, id: summary.snapshot_id };
      }),
    );
    for (const r of await pool(jobs, 4)) (ids[r.i] ??= {})[r.label] = r.id;
  });
  after(() => removeDir(tmp));

  RETENTION_SETS.forEach((set, index) => {
    test(set.name, () => {
      const args = forgetArgs(set, index);
      const out = execFileSync('restic', ['--no-cache', '--json', ...args], { env: resticEnv(repo, set.tz) });
      const theirs = byKey(JSON.parse(out.toString() || '[]') as Group[]);
      const ours = byKey(
        JSON.parse(
          holdfastOk([...args, '--json'], { env: repoEnv(repo, PW, { TZ: set.tz }) }).stdout.toString(),
        ) as Group[],
      );
      assert.deepEqual(ours, theirs);

      // The decisions are the hand-checked ones, and the times are the ones the set describes.
      const label = new Map(Object.entries(ids[index]).map(([l, id]) => [id, l]));
      const kept: Record<string, string[]> = {};
      const removed: string[] = [];
      for (const g of ours) {
        g.keep?.forEach((s, k) => (kept[label.get(s.id.slice(0, 8))!] = g.reasons![k].matches));
        for (const s of g.remove ?? []) removed.push(label.get(s.id.slice(0, 8))!);
        for (const s of [...(g.keep ?? []), ...(g.remove ?? [])]) {
          const want = set.snapshots.find((x) => x.label === label.get(s.id.slice(0, 8)))!;
          assert.equal(s.time, snapshotTime(want));
        }
      }
      assert.deepEqual(kept, set.keep);
      assert.equal(Object.keys(kept).length + removed.length, set.snapshots.length);
    });
  });
});

describe('forget removes snapshots for real', () => {
  let tmp: string;
  let repo: string;
  let source: string;
  const id: Record<string, string> = {};
  const env = () => repoEnv(repo, PW, { TZ: 'UTC' });
  const remaining = () =>
    resticJson<{ id: string }[]>(['snapshots'], { repo, password: PW })
      .map((s) => s.id)
      .sort();

  before(() => {
    tmp = makeTempDir('forget-real');
    repo = path.join(tmp, 'repo');
    source = path.join(tmp, 'src');
    fs.mkdirSync(source);
    restic(['init'], { repo, password: PW });
    const backups: [string, string, string[]][] = [
      ['hold', '2023-01-01 09:00:00', ['legal-hold']],
      ['t2', '2024-01-02 09:00:00', []],
      ['t3', '2024-01-03 09:00:00', []],
      ['t4', '2024-01-04 09:00:00', []],
    ];
    for (const [name, time, tags] of backups) {
      fs.writeFileSync(path.join(source, 'file.txt'), `contents of ${name}\n`);
      const tagArgs = tags.flatMap((t) => ['--tag', t]);
      const out = restic(['backup', source, '--host', 'h', '--time', time, '--json', ...tagArgs], {
        repo,
        password: PW,
      });
      id[name] = (JSON.parse(out.trim().split('\n').pop()!) as { snapshot_id: string }).snapshot_id;
    }
    const all = resticJson<{ id: string; short_id: string }[]>(['snapshots'], { repo, password: PW });
    for (const k of Object.keys(id)) id[k] = all.find((s) => s.short_id === id[k])!.id;
  });
  after(() => removeDir(tmp));

  test('without a policy, forget refuses and removes nothing', () => {
    const r = holdfast(['forget'], { env: env() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no policy given/);
    assert.equal(remaining().length, 4);
  });

  test('a dry run prints each decision with its reason and removes nothing', () => {
    const r = holdfastOk(['forget', '--keep-last', '2', '--keep-tag', 'legal-hold', '--dry-run'], {
      env: env(),
    });
    const text = r.stdout.toString();
    assert.match(text, /keep 3 snapshots/);
    assert.match(text, /has tags \[legal-hold\]/);
    assert.match(text, /last snapshot/);
    assert.match(text, new RegExp(`would remove 1 snapshots: ${id.t2.slice(0, 8)}`));
    assert.equal(remaining().length, 4);
  });

  test('forget removes what the policy does not keep; the keep-tag snapshot stays; restic check passes', () => {
    holdfastOk(['forget', '--keep-last', '2', '--keep-tag', 'legal-hold'], { env: env() });
    assert.deepEqual(remaining(), [id.hold, id.t3, id.t4].sort());
    assert.match(restic(['check'], { repo, password: PW }), /no errors were found/);
  });

  test('forget --prune removes the data too; the legal-hold snapshot still restores', () => {
    const r = holdfastOk(['forget', '--keep-last', '1', '--keep-tag', 'legal-hold', '--prune'], {
      env: env(),
    });
    assert.match(r.stdout.toString(), /running prune/);
    assert.deepEqual(remaining(), [id.hold, id.t4].sort());
    assert.match(restic(['check', '--read-data'], { repo, password: PW }), /no errors were found/);
    const held = resticBuffer(['dump', id.hold, path.join(source, 'file.txt')], { repo, password: PW });
    assert.equal(held.toString(), 'contents of hold\n');
  });

  test('a keep-tag snapshot is kept even when no other rule would keep it, and IDs can be forgotten directly', () => {
    holdfastOk(['forget', '--keep-within', '1h', '--keep-tag', 'legal-hold'], { env: env() });
    assert.deepEqual(remaining(), [id.hold, id.t4].sort());
    holdfastOk(['forget', id.t4.slice(0, 10)], { env: env() });
    assert.deepEqual(remaining(), [id.hold]);
    assert.match(restic(['check'], { repo, password: PW }), /no errors were found/);
  });
});
