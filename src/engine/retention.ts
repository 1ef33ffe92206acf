/**
 * Retention: which snapshots of one group a policy keeps, and why — restic 0.14's
 * `forget --keep-*` rules, restated. Pure: the caller passes the snapshots, the policy,
 * "now" and the local time zone.
 *
 * The rules, as restic applies them (newest snapshot first):
 * - `tags`: a snapshot carrying every tag of one keep-tag list is kept (not counted).
 * - `within`: kept when strictly newer than (newest snapshot − duration); the newest
 *   snapshot ignores snapshots dated in the future, and the subtraction is calendar
 *   arithmetic (Go's AddDate, then hours) in the newest snapshot's zone.
 * - `last`/`hourly`/…/`yearly` N: the newest snapshot of each new hour/day/ISO week/month/
 *   year is kept while N is not used up (-1: no limit, restic 0.15+).
 * - `withinHourly`/…: the newest snapshot of each bucket, for snapshots inside the window.
 * Buckets use the wall-clock time written in the snapshot (its own UTC offset), as Go's
 * time.Time decoded from JSON does. Ties in time are ordered by ID (restic leaves them in
 * listing order, which is not stable).
 */
import { fail } from '../errors.js';
import { parseGoTimeParts } from './gotime.js';
import type { Snapshot } from './snapshot.js';

/** restic's Duration: calendar years, months, days and hours (e.g. "1y2m3d4h"). */
export interface RetentionDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

export interface RetentionPolicy {
  /** Counts: 0 or absent = rule off, -1 = unlimited. */
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: RetentionDuration;
  withinHourly?: RetentionDuration;
  withinDaily?: RetentionDuration;
  withinWeekly?: RetentionDuration;
  withinMonthly?: RetentionDuration;
  withinYearly?: RetentionDuration;
  /** Keep-tag lists: a snapshot with all tags of any one list is kept. */
  tags?: string[][];
}

/** Counters left after a kept snapshot was evaluated (restic's `counters`; zero omitted). */
export interface KeepCounters {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
}

export interface RetentionItem {
  id: string;
  snapshot: Snapshot;
}

export interface KeepReason<T extends RetentionItem> {
  item: T;
  matches: string[];
  counters: KeepCounters;
}

export interface RetentionResult<T extends RetentionItem> {
  /** Newest first. */
  keep: T[];
  remove: T[];
  /** One per kept snapshot, in the order of `keep`. */
  reasons: KeepReason<T>[];
}

/** The machine's local zone: its UTC offset (seconds east) at an instant. */
export type ZoneOffset = (epochMs: number) => number;

export const systemZone: ZoneOffset = (epochMs) => {
  const off = -new Date(epochMs).getTimezoneOffset() * 60;
  return off === 0 ? 0 : off;
};

export interface RetentionOptions {
  /** Nanoseconds since the epoch; snapshots at or after it do not count as the newest. */
  nowNs?: bigint;
  /** The local zone Go's time.Local would be (TZ of the process by default). */
  zone?: ZoneOffset;
}

const ZERO: RetentionDuration = { years: 0, months: 0, days: 0, hours: 0 };

function isZero(d: RetentionDuration | undefined): boolean {
  return !d || (d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0);
}

/** Parses restic's duration syntax: numbers each followed by y, m, d or h ("2d", "1y6m"). */
export function parseRetentionDuration(text: string): RetentionDuration {
  const d = { ...ZERO };
  let s = text.trim();
  const bad = (why: string): never =>
    fail('INVALID_ARGUMENT', `invalid duration "${text}": ${why} (write e.g. 7d, 12h or 1y6m)`);
  while (s !== '') {
    const m = /^(-?)(\d*)/.exec(s)!;
    if (m[2] === '') bad('no number found');
    const num = Number(m[2]) * (m[1] ? -1 : 1);
    s = s.slice(m[0].length);
    if (s === '') bad(`no unit found after number ${num}`);
    const unit = s[0];
    if (unit === 'y') d.years = num;
    else if (unit === 'm') d.months = num;
    else if (unit === 'd') d.days = num;
    else if (unit === 'h') d.hours = num;
    else bad(`invalid unit "${unit}" after number ${num}`);
    s = s.slice(1);
  }
  if (d.years < 0 || d.months < 0 || d.days < 0 || d.hours < 0) bad('negative values are not allowed');
  return d;
}

/** restic's Duration.String(): "1y2m3d4h" with zero parts left out. */
export function formatRetentionDuration(d: RetentionDuration): string {
  return (
    (d.years ? `${d.years}y` : '') +
    (d.months ? `${d.months}m` : '') +
    (d.days ? `${d.days}d` : '') +
    (d.hours ? `${d.hours}h` : '')
  );
}

/** restic's TagList.String(): "[a, b]". */
export function formatTagList(tags: string[]): string {
  return `[${tags.join(', ')}]`;
}

const COUNTS = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
const WITHINS = ['withinHourly', 'withinDaily', 'withinWeekly', 'withinMonthly', 'withinYearly'] as const;

/** True when no rule is set: restic keeps everything and removes nothing then. */
export function isEmptyPolicy(p: RetentionPolicy): boolean {
  if (p.tags && p.tags.length > 0) return false;
  if (COUNTS.some((k) => (p[k] ?? 0) !== 0)) return false;
  return isZero(p.within) && WITHINS.every((k) => isZero(p[k]));
}

/** The sentence restic prints as "Applying Policy: …". */
export function describePolicy(p: RetentionPolicy): string {
  const names = ['latest', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'];
  const keeps: string[] = [];
  COUNTS.forEach((k, i) => {
    const n = p[k] ?? 0;
    if (n > 0) keeps.push(`${n} ${names[i]}`);
    else if (n === -1) keeps.push(`all ${names[i]}`);
  });
  const keepw = WITHINS.filter((k) => !isZero(p[k])).map(
    (k) => `${k.slice(6).toLowerCase()} snapshots within ${formatRetentionDuration(p[k]!)}`,
  );
  let s = keeps.length ? `${keeps.join(', ')} snapshots` : '';
  if (keepw.length) s += (s ? ', ' : '') + keepw.join(', ');
  if (p.tags?.length)
    s += (s ? ' and ' : '') + `all snapshots with tags [${p.tags.map(formatTagList).join(' ')}]`;
  if (!isZero(p.within))
    s += (s ? ' and ' : '') + `all snapshots within ${formatRetentionDuration(p.within!)} of the newest`;
  return `keep ${s}`;
}

/** restic's Snapshot.HasTags: all tags present; an empty tag matches a snapshot without tags. */
export function hasTags(s: Snapshot, list: string[]): boolean {
  const have = s.tags ?? [];
  for (const t of list) {
    if (t === '' && have.length === 0) return true;
    if (!have.includes(t)) return false;
  }
  return true;
}

const NS_PER_MS = 1_000_000n;
/** Go's zero time (0001-01-01T00:00:00Z) in nanoseconds since the epoch. */
const GO_ZERO_NS = -62_135_596_800n * 1_000_000_000n;

/** A time as Go holds it after decoding: the instant, and the zone its wall clock is read in. */
interface When {
  ns: bigint;
  /** Offset in seconds of the written time (its wall clock). */
  offset: number;
  /** Which zone calendar arithmetic happens in: UTC, the machine's zone, or a fixed offset. */
  loc: 'utc' | 'local' | 'fixed';
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Wall clock of a time as a Date whose UTC fields are the local fields. */
function wall(w: When): Date {
  return new Date(Number(floorDiv(w.ns, NS_PER_MS)) + w.offset * 1000);
}

function whenOf(s: Snapshot, zone: ZoneOffset): When {
  const { epochNs, offsetSeconds } = parseGoTimeParts(s.time);
  if (offsetSeconds === 0) return { ns: epochNs, offset: 0, loc: 'utc' };
  // Go's time.Parse uses time.Local when the written offset is the local zone's at that instant.
  const local = zone(Number(floorDiv(epochNs, NS_PER_MS))) === offsetSeconds;
  return { ns: epochNs, offset: offsetSeconds, loc: local ? 'local' : 'fixed' };
}

/** Go's t.AddDate(-y, -m, -d).Add(-h hours): calendar subtraction in t's zone, then hours. */
function subtract(t: When, d: RetentionDuration, zone: ZoneOffset): bigint {
  const subMs = ((t.ns % NS_PER_MS) + NS_PER_MS) % NS_PER_MS;
  const w = wall(t);
  const shifted = new Date(w.getTime());
  shifted.setUTCFullYear(w.getUTCFullYear() - d.years, w.getUTCMonth() - d.months, w.getUTCDate() - d.days);
  const wallMs = shifted.getTime();
  let offsetMs: number;
  if (t.loc === 'utc') offsetMs = 0;
  else if (t.loc === 'fixed') offsetMs = t.offset * 1000;
  else offsetMs = zone(wallMs - zone(wallMs) * 1000) * 1000; // Go's Date() resolving a local wall clock
  const ns = BigInt(wallMs - offsetMs) * NS_PER_MS + subMs;
  return ns - BigInt(d.hours) * 3_600_000_000_000n;
}

/** Go's ISOWeek() of a wall clock: year * 100 + week (weeks start on Monday; week 1 holds a Thursday). */
function isoWeek(w: Date): number {
  const d = new Date(w.getTime());
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7) + 3); // this week's Thursday
  const year = d.getUTCFullYear();
  const jan1 = new Date(0);
  jan1.setUTCFullYear(year, 0, 1);
  return year * 100 + Math.floor((d.getTime() - jan1.getTime()) / 86_400_000 / 7) + 1;
}

type Bucker = (w: Date, nr: number) => number;

const buckers: Record<(typeof COUNTS)[number], Bucker> = {
  last: (_w, nr) => nr,
  hourly: (w) =>
    w.getUTCFullYear() * 1_000_000 + (w.getUTCMonth() + 1) * 10_000 + w.getUTCDate() * 100 + w.getUTCHours(),
  daily: (w) => w.getUTCFullYear() * 10_000 + (w.getUTCMonth() + 1) * 100 + w.getUTCDate(),
  weekly: isoWeek,
  monthly: (w) => w.getUTCFullYear() * 100 + w.getUTCMonth() + 1,
  yearly: (w) => w.getUTCFullYear(),
};

const COUNT_REASON: Record<(typeof COUNTS)[number], string> = {
  last: 'last snapshot',
  hourly: 'hourly snapshot',
  daily: 'daily snapshot',
  weekly: 'weekly snapshot',
  monthly: 'monthly snapshot',
  yearly: 'yearly snapshot',
};

const WITHIN_BUCKET: Record<(typeof WITHINS)[number], (typeof COUNTS)[number]> = {
  withinHourly: 'hourly',
  withinDaily: 'daily',
  withinWeekly: 'weekly',
  withinMonthly: 'monthly',
  withinYearly: 'yearly',
};

/** Newest first; equal times by ID so that the result does not depend on listing order. */
export function sortNewestFirst<T extends RetentionItem>(list: readonly T[]): T[] {
  const keyed = list.map((item) => ({ item, ns: parseGoTimeParts(item.snapshot.time).epochNs }));
  keyed.sort((a, b) => (a.ns > b.ns ? -1 : a.ns < b.ns ? 1 : a.item.id < b.item.id ? -1 : 1));
  return keyed.map((k) => k.item);
}

/** Applies a policy to one group of snapshots. An empty policy keeps everything. */
export function applyRetention<T extends RetentionItem>(
  list: readonly T[],
  policy: RetentionPolicy,
  opts: RetentionOptions = {},
): RetentionResult<T> {
  const zone = opts.zone ?? systemZone;
  const nowNs = opts.nowNs ?? BigInt(Date.now()) * NS_PER_MS;
  const sorted = sortNewestFirst(list);
  const result: RetentionResult<T> = { keep: [], remove: [], reasons: [] };
  if (isEmptyPolicy(policy)) {
    result.keep = sorted;
    result.reasons = sorted.map((item) => ({ item, matches: ['policy is empty'], counters: {} }));
    return result;
  }
  if (sorted.length === 0) return result;

  const times = sorted.map((s) => whenOf(s.snapshot, zone));
  // The newest snapshot that is not in the future (Go's zero time when there is none).
  let latest: When = { ns: GO_ZERO_NS, offset: 0, loc: 'utc' };
  for (const t of times) if (t.ns > latest.ns && t.ns < nowNs) latest = t;

  const counts = COUNTS.map((k) => ({ key: k, left: policy[k] ?? 0, last: -1 }));
  const withins = WITHINS.filter((k) => !isZero(policy[k])).map((k) => ({
    reason: `${WITHIN_BUCKET[k]} within ${formatRetentionDuration(policy[k]!)}`,
    bucker: buckers[WITHIN_BUCKET[k]],
    since: subtract(latest, policy[k]!, zone),
    last: -1,
  }));
  const withinSince = isZero(policy.within) ? undefined : subtract(latest, policy.within!, zone);

  sorted.forEach((item, nr) => {
    const t = times[nr];
    const w = wall(t);
    const matches: string[] = [];
    for (const list of policy.tags ?? []) {
      if (hasTags(item.snapshot, list)) matches.push(`has tags ${formatTagList(list)}`);
    }
    if (withinSince !== undefined && t.ns > withinSince)
      matches.push(`within ${formatRetentionDuration(policy.within!)}`);
    for (const b of counts) {
      if (b.left > 0 || b.left === -1) {
        const val = buckers[b.key](w, nr);
        if (val !== b.last) {
          b.last = val;
          if (b.left > 0) b.left--;
          matches.push(COUNT_REASON[b.key]);
        }
      }
    }
    for (const b of withins) {
      if (t.ns > b.since) {
        const val = b.bucker(w, nr);
        if (val !== b.last) {
          b.last = val;
          matches.push(b.reason);
        }
      }
    }
    if (matches.length === 0) {
      result.remove.push(item);
      return;
    }
    result.keep.push(item);
    const counters: KeepCounters = {};
    for (const b of counts) if (b.left !== 0) counters[b.key] = b.left;
    result.reasons.push({ item, matches, counters });
  });
  return result;
}
