/**
 * Hand-checked retention cases shared by the pure retention tests and the comparison with
 * `restic forget --dry-run --json`: each set lists snapshots (wall-clock time, the zone
 * restic writes it in, host, file, tags), a policy, and which snapshots the policy keeps and
 * why (the expectations were worked out by hand from restic's rules, then confirmed against
 * restic 0.14).
 */
import type { RetentionPolicy, ZoneOffset } from '../engine/retention.js';
import { formatRetentionDuration, parseRetentionDuration as d } from '../engine/retention.js';

export interface SetSnapshot {
  label: string;
  /** Wall clock as `restic backup --time` takes it. */
  time: string;
  /** The UTC offset of that wall clock in `tz` ('Z' for UTC). */
  offset: string;
  /** Zone restic runs in when creating this snapshot (default: the set's). */
  tz?: string;
  host?: string;
  /** Name of the stdin file (the snapshot's path); default "data". */
  file?: string;
  tags?: string[];
}

export interface RetentionSet {
  name: string;
  /** TZ of the process that applies the policy. */
  tz: string;
  snapshots: SetSnapshot[];
  policy: RetentionPolicy;
  /** restic's --group-by text; default host,paths. */
  groupBy?: string;
  /** Filter flags that select this set's snapshots in a shared repository. */
  filter?: string[];
  /** Kept snapshots and their reasons; every other snapshot is removed. */
  keep: Record<string, string[]>;
}

const utc = (label: string, time: string, extra: Partial<SetSnapshot> = {}): SetSnapshot => ({
  label,
  time,
  offset: 'Z',
  ...extra,
});

export const RETENTION_SETS: RetentionSet[] = [
  {
    name: 'keep-last 3 keeps the three newest',
    tz: 'UTC',
    snapshots: [
      utc('a', '2024-01-01 10:00:00'),
      utc('b', '2024-01-02 10:00:00'),
      utc('c', '2024-01-03 10:00:00'),
      utc('d', '2024-01-04 10:00:00'),
      utc('e', '2024-01-05 10:00:00'),
    ],
    policy: { last: 3 },
    keep: { e: ['last snapshot'], d: ['last snapshot'], c: ['last snapshot'] },
  },
  {
    name: 'keep-daily 2 keeps the newest snapshot of each of the two newest days',
    tz: 'UTC',
    snapshots: [
      utc('a', '2024-01-01 10:00:00'),
      utc('b', '2024-01-01 11:00:00'),
      utc('c', '2024-01-02 10:00:00'),
      utc('d', '2024-01-03 09:00:00'),
      utc('e', '2024-01-03 18:00:00'),
    ],
    policy: { daily: 2 },
    keep: { e: ['daily snapshot'], c: ['daily snapshot'] },
  },
  {
    name: 'keep-hourly 2 buckets by clock hour',
    tz: 'UTC',
    snapshots: [
      utc('a', '2024-02-01 10:05:00'),
      utc('b', '2024-02-01 10:55:00'),
      utc('c', '2024-02-01 11:10:00'),
      utc('d', '2024-02-01 12:00:00'),
    ],
    policy: { hourly: 2 },
    keep: { d: ['hourly snapshot'], c: ['hourly snapshot'] },
  },
  {
    name: 'keep-weekly uses ISO weeks across the new year (30 Dec 2024 is in week 1 of 2025)',
    tz: 'UTC',
    snapshots: [
      utc('a', '2024-12-23 08:00:00'),
      utc('b', '2024-12-29 08:00:00'),
      utc('c', '2024-12-30 08:00:00'),
      utc('d', '2025-01-05 08:00:00'),
    ],
    policy: { weekly: 3 },
    keep: { d: ['weekly snapshot'], b: ['weekly snapshot'] },
  },
  {
    name: 'keep-monthly 3 and keep-yearly 2 count separately',
    tz: 'UTC',
    snapshots: [
      utc('a', '2022-06-01 12:00:00'),
      utc('b', '2022-12-31 12:00:00'),
      utc('c', '2023-03-15 12:00:00'),
      utc('d', '2023-11-02 12:00:00'),
      utc('e', '2023-11-20 12:00:00'),
      utc('f', '2024-01-10 12:00:00'),
    ],
    policy: { monthly: 3, yearly: 2 },
    keep: {
      f: ['monthly snapshot', 'yearly snapshot'],
      e: ['monthly snapshot', 'yearly snapshot'],
      c: ['monthly snapshot'],
    },
  },
  {
    name: 'keep-within counts back from the newest snapshot that is not in the future, strictly',
    tz: 'UTC',
    snapshots: [
      utc('a', '2020-01-05 12:00:00'),
      utc('b', '2020-01-08 12:00:00'),
      utc('c', '2020-01-08 12:00:01'),
      utc('d', '2020-01-10 12:00:00'),
      utc('e', '2999-01-01 00:00:00'),
    ],
    policy: { within: d('2d') },
    keep: { e: ['within 2d'], d: ['within 2d'], c: ['within 2d'] },
  },
  {
    name: 'keep-within 1m is calendar arithmetic: 31 March minus a month is 2 March',
    tz: 'UTC',
    snapshots: [
      utc('a', '2024-02-29 12:00:00'),
      utc('b', '2024-03-01 12:00:00'),
      utc('c', '2024-03-02 00:00:00'),
      utc('d', '2024-03-02 00:00:01'),
      utc('e', '2024-03-31 00:00:00'),
    ],
    policy: { within: d('1m') },
    keep: { e: ['within 1m'], d: ['within 1m'] },
  },
  {
    name: 'keep-tag keeps snapshots with all tags of a list; an empty tag keeps untagged ones',
    tz: 'UTC',
    snapshots: [
      utc('a', '2024-04-01 10:00:00', { tags: ['a', 'b', 'c'] }),
      utc('b', '2024-04-02 10:00:00', { tags: ['a'] }),
      utc('c', '2024-04-03 10:00:00'),
      utc('d', '2024-04-04 10:00:00', { tags: ['x'] }),
      utc('e', '2024-04-05 10:00:00', { tags: ['x'] }),
    ],
    policy: { last: 1, tags: [['a', 'b'], ['']] },
    keep: { e: ['last snapshot'], c: ['has tags []'], a: ['has tags [a, b]'] },
  },
  {
    name: 'keep-within-daily keeps one snapshot per day inside the window',
    tz: 'UTC',
    snapshots: [
      utc('a', '2024-05-01 12:00:00'),
      utc('b', '2024-05-07 19:00:00'),
      utc('c', '2024-05-07 21:00:00'),
      utc('d', '2024-05-08 01:00:00'),
      utc('e', '2024-05-09 23:00:00'),
      utc('f', '2024-05-10 08:00:00'),
      utc('g', '2024-05-10 20:00:00'),
    ],
    policy: { withinDaily: d('3d') },
    keep: {
      g: ['daily within 3d'],
      e: ['daily within 3d'],
      d: ['daily within 3d'],
      c: ['daily within 3d'],
    },
  },
  {
    name: 'buckets use the wall clock written in each snapshot, not one zone for all',
    tz: 'UTC',
    snapshots: [
      utc('a', '2024-06-01 23:30:00', { offset: '+02:00', tz: 'Etc/GMT-2' }),
      utc('b', '2024-06-02 00:10:00', { offset: '+02:00', tz: 'Etc/GMT-2' }),
      utc('c', '2024-06-01 22:30:00'),
      utc('d', '2024-06-01 20:00:00'),
    ],
    policy: { daily: 5 },
    keep: { c: ['daily snapshot'], b: ['daily snapshot'], a: ['daily snapshot'] },
  },
  {
    name: 'keep-within subtracts days in the local zone across a DST change (Europe/Berlin)',
    tz: 'Europe/Berlin',
    snapshots: [
      utc('a', '2024-03-30 11:30:00', { offset: '+01:00' }),
      utc('b', '2024-03-30 12:30:00', { offset: '+01:00' }),
      utc('c', '2024-04-02 12:00:00', { offset: '+02:00' }),
    ],
    policy: { within: d('3d') },
    keep: { c: ['within 3d'], b: ['within 3d'] },
  },
  {
    name: 'the default grouping applies the policy per host and paths',
    tz: 'UTC',
    filter: ['--tag', 'grp'],
    snapshots: [
      utc('a', '2024-07-01 10:00:00', { host: 'ga', file: 'x', tags: ['grp'] }),
      utc('b', '2024-07-02 10:00:00', { host: 'ga', file: 'x', tags: ['grp'] }),
      utc('c', '2024-07-03 10:00:00', { host: 'ga', file: 'y', tags: ['grp'] }),
      utc('d', '2024-07-04 10:00:00', { host: 'gb', file: 'x', tags: ['grp'] }),
      utc('e', '2024-07-05 10:00:00', { host: 'gb', file: 'x', tags: ['grp'] }),
    ],
    policy: { last: 1 },
    keep: { b: ['last snapshot'], c: ['last snapshot'], e: ['last snapshot'] },
  },
  {
    name: '--group-by tags groups by the sorted tag set',
    tz: 'UTC',
    groupBy: 'tags',
    snapshots: [
      utc('a', '2024-08-01 10:00:00', { tags: ['q', 'p'] }),
      utc('b', '2024-08-02 10:00:00', { tags: ['p', 'q'] }),
      utc('c', '2024-08-03 10:00:00', { tags: ['p'] }),
      utc('d', '2024-08-04 10:00:00'),
    ],
    policy: { last: 1 },
    keep: { b: ['last snapshot'], c: ['last snapshot'], d: ['last snapshot'] },
  },
  {
    name: '--group-by "" puts every snapshot in one group',
    tz: 'UTC',
    groupBy: '',
    filter: ['--tag', 'solo'],
    snapshots: [
      utc('a', '2024-09-01 10:00:00', { host: 'ha', tags: ['solo'] }),
      utc('b', '2024-09-02 10:00:00', { host: 'hb', tags: ['solo'] }),
      utc('c', '2024-09-03 10:00:00', { host: 'ha', file: 'other', tags: ['solo'] }),
    ],
    policy: { last: 2 },
    keep: { c: ['last snapshot'], b: ['last snapshot'] },
  },
  {
    name: 'restic 0.14 does not keep the oldest snapshot when counts are left over',
    tz: 'UTC',
    snapshots: [utc('a', '2024-10-01 10:00:00'), utc('b', '2024-10-01 11:00:00')],
    policy: { daily: 5 },
    keep: { b: ['daily snapshot'] },
  },
];

/** The RFC 3339 time restic stores for a set snapshot. */
export function snapshotTime(s: SetSnapshot): string {
  return `${s.time.replace(' ', 'T')}${s.offset}`;
}

/** The restic/holdfast `forget` flags of a policy. */
export function policyArgs(p: RetentionPolicy): string[] {
  const args: string[] = [];
  const counts = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
  for (const k of counts) if (p[k]) args.push(`--keep-${k}`, String(p[k]));
  if (p.within) args.push('--keep-within', formatRetentionDuration(p.within));
  const withins = [
    ['withinHourly', 'hourly'],
    ['withinDaily', 'daily'],
    ['withinWeekly', 'weekly'],
    ['withinMonthly', 'monthly'],
    ['withinYearly', 'yearly'],
  ] as const;
  for (const [k, name] of withins)
    if (p[k]) args.push(`--keep-within-${name}`, formatRetentionDuration(p[k]));
  for (const list of p.tags ?? []) args.push('--keep-tag', list.join(','));
  return args;
}

/** The UTC offset of a named zone at an instant, as Go's time.Local would give it. */
export function namedZone(tz: string): ZoneOffset {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  return (ms) => {
    const p: Record<string, number> = {};
    for (const part of fmt.formatToParts(new Date(ms))) p[part.type] = Number(part.value);
    const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 1000);
  };
}

/** The host of a set snapshot that names none: one per set, so sets share a repository. */
export function hostOf(setIndex: number, s: SetSnapshot): string {
  return s.host ?? `set${setIndex}`;
}

/** The filter flags that select a set's snapshots. */
export function filterArgs(setIndex: number, set: RetentionSet): string[] {
  return set.filter ?? ['--host', `set${setIndex}`];
}
