import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isHoldfastError } from '../errors.js';
import {
  RETENTION_SETS,
  hostOf,
  namedZone,
  snapshotTime,
  type RetentionSet,
} from '../testing/retention-sets.js';
import { planForget } from './forget.js';
import {
  applyRetention,
  describePolicy,
  isEmptyPolicy,
  parseRetentionDuration,
  formatRetentionDuration,
  type RetentionItem,
} from './retention.js';
import { DEFAULT_GROUP_BY, groupSnapshots, parseGroupBy } from './snapshot-group.js';
import type { StoredSnapshot } from './snapshots.js';

const TREE = 'ab'.repeat(32);
const UTC = () => 0;

function item(id: string, time: string, extra: Partial<StoredSnapshot['snapshot']> = {}): RetentionItem {
  return { id, snapshot: { time, tree: TREE, paths: ['/data'], hostname: 'h', ...extra } };
}

function storedOf(set: RetentionSet, index: number): StoredSnapshot[] {
  return set.snapshots.map((s) => ({
    id: s.label.padEnd(64, '0'),
    snapshot: {
      time: snapshotTime(s),
      tree: TREE,
      paths: [`/${s.file ?? 'data'}`],
      hostname: hostOf(index, s),
      ...(s.tags?.length ? { tags: s.tags } : {}),
    },
  }));
}

describe('retention: the hand-checked sets', () => {
  RETENTION_SETS.forEach((set, index) => {
    test(set.name, () => {
      const groups = planForget(
        storedOf(set, index),
        set.policy,
        set.groupBy === undefined ? DEFAULT_GROUP_BY : parseGroupBy(set.groupBy),
        { zone: namedZone(set.tz) },
      );
      const kept: Record<string, string[]> = {};
      for (const g of groups) for (const r of g.reasons) kept[r.item.id[0]] = r.matches;
      assert.deepEqual(kept, set.keep);
      const removed = groups.flatMap((g) => g.remove.map((s) => s.id[0])).sort();
      const expectRemoved = set.snapshots.map((s) => s.label).filter((l) => !(l in set.keep));
      assert.deepEqual(removed, expectRemoved.sort());
    });
  });
});

describe('retention rules', () => {
  test('keep and reasons come newest first, with the counters left after each kept snapshot', () => {
    const list = [
      item('1', '2024-01-01T10:00:00Z'),
      item('2', '2024-01-02T10:00:00Z'),
      item('3', '2024-01-03T10:00:00Z'),
      item('4', '2024-01-03T11:00:00Z'),
    ];
    const r = applyRetention(list, { last: 1, daily: 2 }, { zone: UTC });
    assert.deepEqual(
      r.keep.map((s) => s.id),
      ['4', '2'],
    );
    assert.deepEqual(
      r.remove.map((s) => s.id),
      ['3', '1'],
    );
    assert.deepEqual(
      r.reasons.map((x) => [x.item.id, x.counters]),
      [
        ['4', { daily: 1 }],
        ['2', {}],
      ],
    );
  });

  test('counts from several rules add reasons to the same snapshot; counters drop to zero and vanish', () => {
    const list = [item('1', '2024-01-01T10:00:00Z'), item('2', '2024-01-02T10:00:00Z')];
    const r = applyRetention(list, { last: 1, daily: 3 }, { zone: UTC });
    assert.deepEqual(
      r.reasons.map((x) => [x.item.id, x.matches, x.counters]),
      [
        ['2', ['last snapshot', 'daily snapshot'], { daily: 2 }],
        ['1', ['daily snapshot'], { daily: 1 }],
      ],
    );
  });

  test('-1 (unlimited, restic 0.15+) keeps one snapshot per bucket without a limit', () => {
    const list = [
      item('1', '2024-01-01T10:00:00Z'),
      item('2', '2024-01-01T12:00:00Z'),
      item('3', '2024-01-02T10:00:00Z'),
      item('4', '2024-01-03T10:00:00Z'),
    ];
    const r = applyRetention(list, { daily: -1 }, { zone: UTC });
    assert.deepEqual(
      r.keep.map((s) => s.id),
      ['4', '3', '2'],
    );
    assert.deepEqual(r.reasons[0].counters, { daily: -1 });
  });

  test('an empty policy keeps everything with the reason "policy is empty"', () => {
    const r = applyRetention([item('1', '2024-01-01T10:00:00Z')], {}, { zone: UTC });
    assert.equal(r.remove.length, 0);
    assert.deepEqual(r.reasons[0].matches, ['policy is empty']);
    assert.ok(isEmptyPolicy({ tags: [], last: 0 }));
    assert.ok(!isEmptyPolicy({ tags: [['x']] }));
  });

  test('"now" decides which snapshot counts as the newest for keep-within', () => {
    const list = [item('1', '2024-01-01T00:00:00Z'), item('2', '2024-01-10T00:00:00Z')];
    const before10th = BigInt(Date.UTC(2024, 0, 5)) * 1_000_000n;
    const r = applyRetention(
      list,
      { within: parseRetentionDuration('1d') },
      { zone: UTC, nowNs: before10th },
    );
    // The 10th is "in the future": the newest is the 1st, and both are within 1d of it.
    assert.deepEqual(
      r.keep.map((s) => s.id),
      ['2', '1'],
    );
  });

  test('keep-within in a fixed offset that is not the local zone is plain offset arithmetic', () => {
    const list = [item('a', '2024-03-30T11:30:00+01:00'), item('c', '2024-04-02T12:00:00+02:00')];
    // In UTC, +02:00 is a fixed zone: 3 days before is 2024-03-30T12:00+02:00 = 10:00Z.
    const fixed = applyRetention(list, { within: parseRetentionDuration('3d') }, { zone: UTC });
    assert.deepEqual(
      fixed.keep.map((s) => s.id),
      ['c', 'a'],
    );
    // In Europe/Berlin the same subtraction lands on 12:00+01:00 = 11:00Z.
    const berlin = applyRetention(
      list,
      { within: parseRetentionDuration('3d') },
      { zone: namedZone('Europe/Berlin') },
    );
    assert.deepEqual(
      berlin.keep.map((s) => s.id),
      ['c'],
    );
  });

  test('equal times are ordered by ID, so the result does not depend on listing order', () => {
    const a = item('aa', '2024-01-01T10:00:00Z');
    const b = item('bb', '2024-01-01T10:00:00Z');
    for (const list of [
      [a, b],
      [b, a],
    ]) {
      assert.deepEqual(
        applyRetention(list, { last: 1 }, { zone: UTC }).keep.map((s) => s.id),
        ['aa'],
      );
    }
  });
});

describe('durations, policies and groups', () => {
  test('durations parse and print as restic does', () => {
    assert.deepEqual(parseRetentionDuration('1y2m3d4h'), { years: 1, months: 2, days: 3, hours: 4 });
    assert.deepEqual(parseRetentionDuration(' 36h '), { years: 0, months: 0, days: 0, hours: 36 });
    assert.deepEqual(parseRetentionDuration(''), { years: 0, months: 0, days: 0, hours: 0 });
    assert.equal(formatRetentionDuration(parseRetentionDuration('0y7d')), '7d');
    for (const bad of ['5', 'd', '3w', '2d1', '-1d'])
      assert.throws(
        () => parseRetentionDuration(bad),
        (e) => isHoldfastError(e, 'INVALID_ARGUMENT'),
      );
  });

  test('the policy reads as restic prints it', () => {
    assert.equal(
      describePolicy({
        last: 2,
        daily: 7,
        weekly: -1,
        withinDaily: parseRetentionDuration('1m'),
        tags: [['a', 'b'], ['c']],
        within: parseRetentionDuration('2d'),
      }),
      'keep 2 latest, 7 daily, all weekly snapshots, daily snapshots within 1m and all snapshots with tags [[a, b] [c]] and all snapshots within 2d of the newest',
    );
  });

  test('group-by accepts restic names, rejects others, and sorts paths and tags in the key', () => {
    assert.deepEqual(parseGroupBy('host,paths'), DEFAULT_GROUP_BY);
    assert.deepEqual(parseGroupBy('tag,path,hosts'), { host: true, paths: true, tags: true });
    assert.deepEqual(parseGroupBy(''), { host: false, paths: false, tags: false });
    assert.throws(
      () => parseGroupBy('host,user'),
      (e) => isHoldfastError(e, 'INVALID_ARGUMENT'),
    );
    const s = (id: string, paths: string[], tags?: string[]): StoredSnapshot => ({
      id,
      snapshot: { time: '2024-01-01T00:00:00Z', tree: TREE, paths, hostname: 'h', ...(tags ? { tags } : {}) },
    });
    const groups = groupSnapshots([s('1', ['/b', '/a'], ['y', 'x']), s('2', ['/a', '/b'], ['x', 'y'])], {
      host: true,
      paths: true,
      tags: true,
    });
    assert.equal(groups.length, 1);
    assert.deepEqual(groups[0].key, { hostname: 'h', paths: ['/a', '/b'], tags: ['x', 'y'] });
    assert.deepEqual(groups[0].snapshots[0].snapshot.paths, ['/a', '/b']);
  });
});
