/**
 * Times as Go's time.Time marshals them to JSON (RFC 3339 with nanoseconds): up to nine fraction
 * digits with trailing zeros removed (no dot when zero), `Z` whenever the offset is zero and
 * `+hh:mm`/`-hh:mm` otherwise. Before encoding, years are clamped to 0..9999 in the time's own
 * zone, as restic does for node times. Times are carried as bigint nanoseconds since the epoch.
 */
import { fail } from '../errors.js';

/** Go's zero time.Time, which is what a missing time field decodes to. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

const NS = 1_000_000_000n;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** [year, month, day] of a day count since 1970-01-01. */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [m <= 2 ? era * 400 + yoe + 1 : era * 400 + yoe, m, d];
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Go's "Z07:00": Z for a zero offset, else the sign and the offset in whole minutes. */
function formatZone(offsetSeconds: number): string {
  if (offsetSeconds === 0) return 'Z';
  let zone = Math.trunc(offsetSeconds / 60);
  const sign = zone < 0 ? '-' : '+';
  zone = Math.abs(zone);
  return `${sign}${pad(Math.floor(zone / 60), 2)}:${pad(zone % 60, 2)}`;
}

/**
 * The RFC 3339 text Go writes for an instant shown at a UTC offset (minutes east of UTC;
 * fractions of a minute are kept as seconds). Years outside 0..9999 are clamped like restic does.
 */
export function formatGoTime(epochNs: bigint, offsetMinutes: number): string {
  const offsetSeconds = Math.round(offsetMinutes * 60);
  const local = epochNs + BigInt(offsetSeconds) * NS;
  let sec = local / NS;
  let ns = local % NS;
  if (ns < 0n) {
    ns += NS;
    sec -= 1n;
  }
  const s = Number(sec);
  const days = Math.floor(s / 86400);
  const sod = s - days * 86400;
  const [y, m, d] = civilFromDays(days);
  const zone = formatZone(offsetSeconds);
  if (y < 0) return '0000-01-01T00:00:00' + zone;
  if (y > 9999) return '9999-12-31T23:59:59.999999999' + zone;
  const hh = Math.floor(sod / 3600);
  const mm = Math.floor((sod % 3600) / 60);
  const ss = sod % 60;
  const frac = ns === 0n ? '' : '.' + ns.toString().padStart(9, '0').replace(/0+$/, '');
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}${frac}${zone}`;
}

/** The machine's UTC offset in minutes east of UTC at an instant (the zone restic writes times in). */
export function localOffsetMinutes(epochMs: number): number {
  if (!Number.isFinite(epochMs)) return 0;
  const ms = Math.max(-8.64e15, Math.min(8.64e15, epochMs));
  const off = -new Date(ms).getTimezoneOffset();
  return off === 0 ? 0 : off;
}

/** The current time as restic writes it: local zone, nanosecond digits. */
export function goTimeNow(): string {
  const ms = Date.now();
  const ns = BigInt(ms) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  return formatGoTime(ns, localOffsetMinutes(ms));
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** An instant and the UTC offset it was written with. */
export interface GoTimeParts {
  epochNs: bigint;
  offsetSeconds: number;
}

/** The validated pieces of an RFC 3339 time. */
interface Fields {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  se: number;
  /** Fraction digits as written (may be empty), and the separator before them. */
  frac: string;
  sep: string;
  /** Offset in seconds east of UTC; zoneText is the zone as written (`Z` or `±hh:mm`). */
  offsetSeconds: number;
  zoneText: string;
}

/** Value of the n ASCII digits at s[at..], or -1. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let k = at; k < at + n; k++) {
    const c = s.charCodeAt(k) - 0x30;
    if (!(c >= 0 && c <= 9)) return -1;
    v = v * 10 + c;
  }
  return v;
}

const LAYOUT = '0000-00-00T00:00:00';

function parseFields(s: string): Fields {
  const bad = (why: string): never => fail('INTEGRITY', `invalid time ${JSON.stringify(s)}: ${why}`);
  for (let k = 0; k < LAYOUT.length; k++) {
    const want = LAYOUT[k];
    const c = s[k];
    if (want === '0' ? !(c >= '0' && c <= '9') : c !== want) bad('not RFC 3339');
  }
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const se = digits(s, 17, 2);
  if (mo < 1 || mo > 12) bad('month out of range');
  const dim = mo === 2 && isLeap(y) ? 29 : MONTH_DAYS[mo - 1];
  if (d < 1 || d > dim) bad('day out of range');
  if (h > 23 || mi > 59 || se > 59) bad('clock out of range');
  let i = 19;
  let frac = '';
  let sep = '';
  if (s[i] === '.' || s[i] === ',') {
    sep = s[i];
    const from = ++i;
    while (s[i] >= '0' && s[i] <= '9') i++;
    frac = s.slice(from, i);
    if (frac === '') bad('empty fraction');
  }
  const zoneText = s.slice(i);
  let offsetSeconds = 0;
  if (zoneText !== 'Z') {
    const oh = digits(zoneText, 1, 2);
    const om = digits(zoneText, 4, 2);
    const sign = zoneText[0];
    if (zoneText.length !== 6 || (sign !== '+' && sign !== '-') || zoneText[3] !== ':' || oh < 0 || om < 0) {
      bad('invalid zone');
    }
    offsetSeconds = (oh * 60 + om) * 60;
    if (sign === '-' && offsetSeconds !== 0) offsetSeconds = -offsetSeconds;
  }
  return { y, mo, d, h, mi, se, frac, sep, offsetSeconds, zoneText };
}

function partsOf(f: Fields): GoTimeParts {
  const digits9 = f.frac.slice(0, 9);
  const frac = digits9 === '' ? 0n : BigInt(digits9.padEnd(9, '0'));
  const secs = daysFromCivil(f.y, f.mo, f.d) * 86400 + f.h * 3600 + f.mi * 60 + f.se - f.offsetSeconds;
  return { epochNs: BigInt(secs) * NS + frac, offsetSeconds: f.offsetSeconds };
}

/** Parses RFC 3339 as Go's time.Time JSON decoding does (any fraction precision, any offset). */
export function parseGoTimeParts(s: string): GoTimeParts {
  return partsOf(parseFields(s));
}

/** Nanoseconds since the epoch of an RFC 3339 time. */
export function parseGoTime(s: string): bigint {
  return parseGoTimeParts(s).epochNs;
}

/** Already in Go's output form: '.' and 1-9 fraction digits without trailing zero; Z for a zero offset. */
function isCanonical(f: Fields): boolean {
  if (f.frac !== '' && (f.sep !== '.' || f.frac.length > 9 || f.frac.endsWith('0'))) return false;
  return f.zoneText === 'Z' || f.offsetSeconds !== 0;
}

/** The text Go would write back for a time it parsed from s (same instant, same offset). */
export function normalizeGoTime(s: string): string {
  const fields = parseFields(s);
  if (isCanonical(fields)) return s;
  const { epochNs, offsetSeconds } = partsOf(fields);
  return formatGoTime(epochNs, offsetSeconds / 60);
}
