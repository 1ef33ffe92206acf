/**
 * Durations in the policy file ("90m", "12h", "60d", "2w", "6mo", "1y", or combinations
 * such as "1d12h"): their length in milliseconds and the form restic's `--keep-within`
 * takes (y, m = months, d, h). Months count as 30 days and years as 365 days for
 * comparisons; restic itself counts them on the calendar.
 */

export interface Duration {
  /** As written in the policy file. */
  text: string;
  ms: number;
  /** restic's duration form for --keep-within*: "60d", "1y6m", "2h". */
  restic: string;
}

export const DURATION_HELP =
  'a number and a unit: 90m (minutes), 12h, 60d, 2w, 6mo (months) or 1y; combinations like 1d12h work too';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const UNIT_MS: Record<string, number> = {
  m: MINUTE,
  h: HOUR,
  d: DAY,
  w: 7 * DAY,
  mo: 30 * DAY,
  y: 365 * DAY,
};

const WHOLE = /^(?:\d+(?:mo|y|w|d|h|m))+$/;
const PART = /(\d+)(mo|y|w|d|h|m)/g;

/** Parses a duration; undefined when the text is not one (or is zero). */
export function parseDuration(text: string): Duration | undefined {
  const t = text.trim();
  if (!WHOLE.test(t)) return undefined;
  const n = { y: 0, mo: 0, d: 0, h: 0, m: 0 };
  let ms = 0;
  for (const [, digits, unit] of t.matchAll(PART)) {
    const v = Number(digits);
    ms += v * UNIT_MS[unit];
    if (unit === 'w') n.d += 7 * v;
    else n[unit as keyof typeof n] += v;
  }
  if (ms <= 0 || !Number.isSafeInteger(ms)) return undefined;
  // restic has no minutes: round them up to whole hours (keeping longer is the safe side).
  const hours = n.h + Math.ceil(n.m / 60);
  const restic =
    [n.y ? `${n.y}y` : '', n.mo ? `${n.mo}m` : '', n.d ? `${n.d}d` : '', hours ? `${hours}h` : ''].join('') ||
    '0h';
  return { text: t, ms, restic };
}

/** True when the text uses minutes ("m"), which is easy to mistake for restic's months. */
export function usesMinutes(text: string): boolean {
  return [...text.trim().matchAll(PART)].some(([, , unit]) => unit === 'm');
}

/** "60 days", "12 hours", "90 minutes": for messages. */
export function describeMs(ms: number): string {
  const plural = (v: number, unit: string) => `${v} ${unit}${v === 1 ? '' : 's'}`;
  if (ms % DAY === 0 && ms >= 2 * DAY) return plural(ms / DAY, 'day');
  if (ms % HOUR === 0) return plural(ms / HOUR, 'hour');
  if (ms >= DAY) return plural(Math.round((ms / DAY) * 10) / 10, 'day');
  return plural(Math.round(ms / MINUTE), 'minute');
}

export const MS = { MINUTE, HOUR, DAY } as const;
