/**
 * Cron schedules: clear errors for bad expressions and zones, next and previous slots in
 * UTC and in DST zones (America/New_York, Europe/London), and that previousRun always lands
 * on a slot nextRun enumerates, with no slot skipped in between.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isHoldfastError } from '../errors.js';
import { nextRun, parseSchedule, previousRun, sameSchedule, type Schedule } from './cron.js';

const d = (iso: string): Date => new Date(iso);
const iso = (date: Date | undefined): string | undefined => date?.toISOString();

function rejects(cron: string, timezone: string | undefined, ...fragments: string[]): void {
  assert.throws(
    () => parseSchedule(cron, timezone),
    (err: unknown) => {
      assert.ok(isHoldfastError(err, 'INVALID_ARGUMENT'), `expected INVALID_ARGUMENT, got ${String(err)}`);
      for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" should mention "${f}"`);
      assert.ok(!err.message.includes('CronPattern'), `"${err.message}" leaks croner's class name`);
      return true;
    },
  );
}

/** previousRun(t) is a slot, at or before t, and no slot lies between it and t. */
function assertPreviousIsExact(schedule: Schedule, t: Date): void {
  const p = previousRun(schedule, t);
  assert.ok(p !== undefined, `no previous slot for ${t.toISOString()}`);
  assert.ok(p <= t, `previous ${p.toISOString()} is after ${t.toISOString()}`);
  assert.equal(
    iso(nextRun(schedule, new Date(p.getTime() - 1))),
    p.toISOString(),
    `${p.toISOString()} is a slot`,
  );
  const after = nextRun(schedule, p);
  assert.ok(after === undefined || after > t, `slot ${iso(after)} lies between ${iso(p)} and ${iso(t)}`);
}

describe('parseSchedule', () => {
  test('accepts five-field expressions, nicknames, and defaults to UTC', () => {
    const s = parseSchedule(' 0 3,15 * * * ');
    assert.equal(s.cron, '0 3,15 * * *');
    assert.equal(s.timezone, 'UTC');
    assert.equal(
      iso(nextRun(parseSchedule('@daily'), d('2024-05-01T10:00:00Z'))),
      '2024-05-02T00:00:00.000Z',
    );
    assert.equal(parseSchedule('0 3 * * *', 'europe/london').timezone, 'Europe/London');
  });

  test('rejects bad expressions with a sentence that names them and what to write', () => {
    rejects('61 * * * *', undefined, '"61 * * * *"', 'minute', 'five fields');
    rejects('hello', undefined, '"hello"', 'five fields');
    rejects('* * *', undefined, 'five fields');
    rejects('0 3 * * mon-', undefined, '"0 3 * * mon-"');
    rejects('', undefined, 'empty schedule');
    rejects('2030-01-23T00:00:00', undefined, 'not a cron expression');
    rejects('@reboot', undefined, '@reboot');
  });

  test('rejects an unknown time zone and a schedule that never runs', () => {
    rejects('0 3 * * *', 'Mars/Olympus_Mons', 'unknown time zone "Mars/Olympus_Mons"', 'IANA');
    rejects('0 0 30 2 *', undefined, 'never runs');
  });

  test('sameSchedule compares expression and zone', () => {
    assert.ok(sameSchedule(parseSchedule('0 3 * * *'), parseSchedule('0 3 * * *', 'UTC')));
    assert.ok(!sameSchedule(parseSchedule('0 3 * * *'), parseSchedule('0 3 * * *', 'America/New_York')));
    assert.ok(!sameSchedule(parseSchedule('0 3 * * *'), parseSchedule('0 4 * * *')));
  });
});

describe('nextRun and previousRun', () => {
  test('"0 3 * * *" is 03:00 UTC in UTC and 07:00/08:00 UTC in New York (summer/winter)', () => {
    const utc = parseSchedule('0 3 * * *', 'UTC');
    const ny = parseSchedule('0 3 * * *', 'America/New_York');
    const june = d('2024-06-15T12:00:00Z');
    assert.equal(iso(nextRun(utc, june)), '2024-06-16T03:00:00.000Z');
    assert.equal(iso(previousRun(utc, june)), '2024-06-15T03:00:00.000Z');
    assert.equal(iso(nextRun(ny, june)), '2024-06-16T07:00:00.000Z');
    assert.equal(iso(previousRun(ny, june)), '2024-06-15T07:00:00.000Z');
    const january = d('2024-01-15T12:00:00Z');
    assert.equal(iso(nextRun(ny, january)), '2024-01-16T08:00:00.000Z');
    assert.equal(iso(previousRun(ny, january)), '2024-01-15T08:00:00.000Z');
  });

  test('nextRun is strictly after; previousRun includes the instant itself', () => {
    const s = parseSchedule('0 3 * * *');
    const slot = d('2024-06-15T03:00:00Z');
    assert.equal(iso(nextRun(s, slot)), '2024-06-16T03:00:00.000Z');
    assert.equal(iso(nextRun(s, new Date(slot.getTime() - 1))), slot.toISOString());
    assert.equal(iso(previousRun(s, slot)), slot.toISOString());
    assert.equal(iso(previousRun(s, new Date(slot.getTime() - 1))), '2024-06-14T03:00:00.000Z');
  });

  test('New York across the DST changes: 03:00 local moves from 08:00 to 07:00 UTC and back', () => {
    const ny = parseSchedule('0 3 * * *', 'America/New_York');
    // 2024-03-10: clocks go 02:00 EST → 03:00 EDT.
    assert.equal(iso(previousRun(ny, d('2024-03-10T06:59:59Z'))), '2024-03-09T08:00:00.000Z');
    assert.equal(iso(previousRun(ny, d('2024-03-10T12:00:00Z'))), '2024-03-10T07:00:00.000Z');
    assert.equal(iso(nextRun(ny, d('2024-03-09T08:00:00Z'))), '2024-03-10T07:00:00.000Z');
    // 2024-11-03: clocks go 02:00 EDT → 01:00 EST.
    assert.equal(iso(previousRun(ny, d('2024-11-03T12:00:00Z'))), '2024-11-03T08:00:00.000Z');
    assert.equal(iso(nextRun(ny, d('2024-11-02T07:00:00Z'))), '2024-11-03T08:00:00.000Z');
  });

  test('Europe/London: a slot in the spring gap runs after it, a repeated slot runs once', () => {
    const london = parseSchedule('30 1 * * *', 'Europe/London');
    // 2024-03-31: 01:00 GMT → 02:00 BST, so 01:30 does not exist; it runs at 02:00 BST.
    assert.equal(iso(nextRun(london, d('2024-03-30T12:00:00Z'))), '2024-03-31T01:00:00.000Z');
    assert.equal(iso(previousRun(london, d('2024-03-31T12:00:00Z'))), '2024-03-31T01:00:00.000Z');
    assert.equal(iso(previousRun(london, d('2024-03-31T00:59:59Z'))), '2024-03-30T01:30:00.000Z');
    // 2024-10-27: 02:00 BST → 01:00 GMT, so 01:30 comes twice (00:30Z and 01:30Z); it runs at the first.
    assert.equal(iso(nextRun(london, d('2024-10-26T12:00:00Z'))), '2024-10-27T00:30:00.000Z');
    assert.equal(iso(nextRun(london, d('2024-10-27T00:30:00Z'))), '2024-10-28T01:30:00.000Z');
    assert.equal(iso(previousRun(london, d('2024-10-27T01:45:00Z'))), '2024-10-27T00:30:00.000Z');
    assert.equal(iso(previousRun(london, d('2024-10-28T12:00:00Z'))), '2024-10-28T01:30:00.000Z');
  });

  test('previousRun lands exactly on the slot before, every 37 minutes through DST changes', () => {
    const london = ['2024-03-30T00:00:00Z', '2024-10-26T00:00:00Z'];
    const newYork = ['2024-03-09T12:00:00Z', '2024-11-02T12:00:00Z'];
    const cases: [Schedule, string[]][] = [
      [parseSchedule('30 1 * * *', 'Europe/London'), london],
      [parseSchedule('*/20 1,2 * * *', 'Europe/London'), london],
      [parseSchedule('0 1-3 * * *', 'America/New_York'), newYork],
      [parseSchedule('*/7 * * * *', 'Australia/Lord_Howe'), ['2024-04-06T14:00:00Z', '2024-10-05T15:00:00Z']],
    ];
    for (const [schedule, starts] of cases)
      for (const start of starts)
        for (let t = d(start).getTime(), end = t + 2 * 86_400_000; t < end; t += 37 * 60_000 + 7_001)
          assertPreviousIsExact(schedule, new Date(t));
  });

  test('previousRun looks back years for rare slots, and finds none before a schedule began', () => {
    assert.equal(
      iso(previousRun(parseSchedule('0 0 29 2 *'), d('2025-06-01T00:00:00Z'))),
      '2024-02-29T00:00:00.000Z',
    );
    assert.equal(
      iso(previousRun(parseSchedule('0 6 1 1,4,7,10 *'), d('2024-03-01T00:00:00Z'))),
      '2024-01-01T06:00:00.000Z',
    );
    assert.equal(
      iso(previousRun(parseSchedule('0 0 0 1 1 * 2020'), d('2024-06-01T00:00:00Z'))),
      '2020-01-01T00:00:00.000Z',
    );
    assert.equal(previousRun(parseSchedule('0 0 0 1 1 * 2030'), d('2024-06-01T00:00:00Z')), undefined);
    assert.equal(nextRun(parseSchedule('0 0 0 1 1 * 2020'), d('2024-06-01T00:00:00Z')), undefined);
  });
});
