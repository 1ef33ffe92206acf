import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatGoTime,
  GO_ZERO_TIME,
  goTimeNow,
  localOffsetMinutes,
  normalizeGoTime,
  parseGoTime,
  parseGoTimeParts,
} from './gotime.js';
import { isHoldfastError } from '../errors.js';

const S = 1_000_000_000n;
const integrity = (e: unknown) => isHoldfastError(e, 'INTEGRITY');

test('the epoch at offset 0 is written with Z and no fraction', () => {
  assert.equal(formatGoTime(0n, 0), '1970-01-01T00:00:00Z');
});

test('nanoseconds keep up to nine digits with trailing zeros trimmed', () => {
  assert.equal(formatGoTime(S + 500_000_000n, 0), '1970-01-01T00:00:01.5Z');
  assert.equal(formatGoTime(123_456_789n, 0), '1970-01-01T00:00:00.123456789Z');
  assert.equal(formatGoTime(100n, 0), '1970-01-01T00:00:00.0000001Z');
  assert.equal(formatGoTime(1_700_000_000n * S + 10_000_000n, 0), '2023-11-14T22:13:20.01Z');
});

test('instants before 1970 format correctly, fractions included', () => {
  assert.equal(formatGoTime(-1n, 0), '1969-12-31T23:59:59.999999999Z');
  assert.equal(formatGoTime(-86400n * S, 0), '1969-12-31T00:00:00Z');
  assert.equal(formatGoTime(-14182940n * S + 123_456_789n, 0), '1969-07-20T20:17:40.123456789Z');
  assert.equal(formatGoTime(-62135596800n * S, 0), GO_ZERO_TIME);
});

test('non-zero offsets are written as +hh:mm / -hh:mm with local wall-clock time', () => {
  assert.equal(formatGoTime(0n, 120), '1970-01-01T02:00:00+02:00');
  assert.equal(formatGoTime(0n, -210), '1969-12-31T20:30:00-03:30');
  assert.equal(formatGoTime(0n, 345), '1970-01-01T05:45:00+05:45');
});

test("years are clamped to 0..9999 in the time's own zone, as restic does", () => {
  assert.equal(formatGoTime(253402300800n * S, 0), '9999-12-31T23:59:59.999999999Z');
  assert.equal(formatGoTime(253402300800n * S, 60), '9999-12-31T23:59:59.999999999+01:00');
  assert.equal(formatGoTime(-62167219201n * S, 0), '0000-01-01T00:00:00Z');
  assert.equal(formatGoTime(-62167219200n * S, 0), '0000-01-01T00:00:00Z');
  assert.equal(formatGoTime(-62167219200n * S, -60), '0000-01-01T00:00:00-01:00');
});

test('dates after 2262 (beyond int64 nanoseconds in other tools) work', () => {
  const ns = parseGoTime('2300-06-01T12:00:00.000000001Z');
  assert.equal(formatGoTime(ns, 0), '2300-06-01T12:00:00.000000001Z');
});

test('parsing accepts any fraction precision and any offset', () => {
  assert.equal(parseGoTime('1970-01-01T00:00:01Z'), S);
  assert.equal(parseGoTime('1970-01-01T00:00:01.5Z'), S + 500_000_000n);
  assert.equal(parseGoTime('1970-01-01T00:00:01,25Z'), S + 250_000_000n);
  assert.equal(parseGoTime('1970-01-01T00:00:00.1234567891234Z'), 123_456_789n);
  assert.equal(parseGoTime('1970-01-01T02:00:00+02:00'), 0n);
  assert.equal(parseGoTime('1969-12-31T20:30:00-03:30'), 0n);
  assert.deepEqual(parseGoTimeParts('2024-02-29T10:00:00+05:45'), {
    epochNs: parseGoTime('2024-02-29T04:15:00Z'),
    offsetSeconds: 345 * 60,
  });
});

test('format and parse round-trip over random instants and offsets', () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 2000; i++) {
    const ns = (BigInt(rand(2_000_000_000)) - 1_000_000_000n) * 60n * S + BigInt(rand(1_000_000_000));
    const off = (rand(1681) - 840) * (rand(2) ? 1 : 0);
    const text = formatGoTime(ns, off);
    assert.equal(parseGoTime(text), ns, text);
    assert.equal(normalizeGoTime(text), text);
  }
});

test('normalising gives the text Go would write back', () => {
  assert.equal(normalizeGoTime('2020-01-01T00:00:00.500+00:00'), '2020-01-01T00:00:00.5Z');
  assert.equal(normalizeGoTime('2020-01-01T00:00:00.000Z'), '2020-01-01T00:00:00Z');
  assert.equal(normalizeGoTime('2020-01-01T00:00:00,1-00:00'), '2020-01-01T00:00:00.1Z');
  assert.equal(normalizeGoTime('2026-11-22T17:27:32.010687373Z'), '2026-11-22T17:27:32.010687373Z');
});

test('malformed times are integrity errors', () => {
  for (const bad of [
    '2020-13-01T00:00:00Z',
    '2021-02-29T00:00:00Z',
    '2020-01-01T24:00:00Z',
    '2020-01-01T00:60:00Z',
    '2020-01-01T00:00:60Z',
    '2020-01-01t00:00:00Z',
    '2020-01-01T00:00:00',
    '2020-01-01T00:00:00z',
    '20-01-01T00:00:00Z',
    '2020-01-01T00:00:00.Z',
  ]) {
    assert.throws(() => parseGoTime(bad), integrity, bad);
  }
});

test('the local offset follows the TZ setting, including half-hour zones', () => {
  const saved = process.env.TZ;
  try {
    process.env.TZ = 'America/St_Johns';
    assert.equal(localOffsetMinutes(Date.UTC(2021, 0, 15)), -210);
    assert.equal(localOffsetMinutes(Date.UTC(2021, 6, 15)), -150);
    process.env.TZ = 'UTC';
    assert.equal(localOffsetMinutes(Date.UTC(2021, 0, 15)), 0);
    assert.ok(goTimeNow().endsWith('Z'));
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
});
