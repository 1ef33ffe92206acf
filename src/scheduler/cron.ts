/**
 * Cron schedules: parsing (with errors that say what to write instead) and the slots of a
 * schedule around an instant, in a given IANA time zone. croner parses and finds the next
 * slot; the previous slot is derived from "next" alone (a backwards gallop, then a binary
 * search), so both directions agree on every slot, including around DST changes.
 *
 * A schedule without a time zone runs in UTC, whatever the host's zone is: nothing below
 * app/ reads the environment, and "0 3 * * *" should not move when a server is rebuilt.
 */
import { Cron } from 'croner';
import { fail } from '../errors.js';

export interface Schedule {
  /** The cron expression as written, e.g. "0 3,15 * * *". */
  readonly cron: string;
  /** The IANA time zone the expression is read in, canonical spelling ("Europe/London"). */
  readonly timezone: string;
  /** The parsed expression; only `parseSchedule` makes one. */
  readonly pattern: Cron;
}

export const DEFAULT_TIMEZONE = 'UTC';

const FORMAT_HINT =
  'write five fields "minute hour day-of-month month day-of-week" (e.g. "0 3 * * *" for 03:00 daily)';

/** The canonical name of an IANA time zone, or undefined when the zone is unknown. */
function canonicalTimezone(timezone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** croner's messages start with "CronPattern: "; keep the sentence, drop the class name. */
function croneReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^Cron\w*:\s*/, '').replace(/\.$/, '');
}

/**
 * Parses a cron expression (5 fields; 6 with leading seconds and 7 with a trailing year are
 * accepted too, as are @hourly, @daily, @weekly, @monthly, @yearly) read in `timezone`.
 * Throws INVALID_ARGUMENT naming the expression and what to change.
 */
export function parseSchedule(cron: string, timezone?: string): Schedule {
  const expression = typeof cron === 'string' ? cron.trim() : '';
  if (expression === '') fail('INVALID_ARGUMENT', `empty schedule: ${FORMAT_HINT}`);
  if (expression.includes(':'))
    fail(
      'INVALID_ARGUMENT',
      `invalid schedule "${expression}": a date or time of day is not a cron expression; ${FORMAT_HINT}`,
    );
  const zone = canonicalTimezone(timezone ?? DEFAULT_TIMEZONE);
  if (zone === undefined)
    fail(
      'INVALID_ARGUMENT',
      `unknown time zone "${timezone}" for schedule "${expression}": use an IANA name such as "Europe/London" or "UTC"`,
    );
  let pattern: Cron;
  try {
    pattern = new Cron(expression, { timezone: zone, paused: true });
  } catch (err) {
    fail('INVALID_ARGUMENT', `invalid schedule "${expression}": ${croneReason(err)}; ${FORMAT_HINT}`, err);
  }
  // A pattern such as "0 0 30 2 *" parses but never runs: say so now, not by silence later.
  if (pattern.nextRun(new Date(Date.UTC(1970, 0, 1))) === null)
    fail(
      'INVALID_ARGUMENT',
      `schedule "${expression}" never runs (no date matches it); check the day-of-month and month fields`,
    );
  return { cron: expression, timezone: zone, pattern };
}

/** The first slot strictly after `after`, or undefined when the schedule has no later slot. */
export function nextRun(schedule: Schedule, after: Date): Date | undefined {
  return schedule.pattern.nextRun(after) ?? undefined;
}

/** The earliest instant the search for a previous slot looks at (croner's years are 1–9999). */
const EARLIEST_MS = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const FIRST_WINDOW_MS = 60_000;
const WINDOW_GROWTH = 4;
const WALK_STEPS = 4;

/**
 * The last slot at or before `atOrBefore`, or undefined when there is none.
 *
 * Only "next" is asked of croner, so the answer is always a slot nextRun enumerates, with
 * the same DST choices. With next(a) the first slot after a, [a, t] holds a slot iff
 * next(a) ≤ t. The window [t − w, t] grows ×4 from a minute until it holds one (9 steps
 * reach a quarter); then the slots from its start are walked forward to the last one ≤ t.
 * When the window is dense (many slots long ago, none since), each few steps of the walk
 * also halve the span still to search, so it ends in logarithmic time.
 */
export function previousRun(schedule: Schedule, atOrBefore: Date): Date | undefined {
  const t = atOrBefore.getTime();
  /** The first slot after `a` when it is at or before t. */
  const slotAfter = (a: number): number | undefined => {
    const next = schedule.pattern.nextRun(new Date(a))?.getTime();
    return next !== undefined && next <= t ? next : undefined;
  };
  // Invariant: no slot lies in (hi, t].
  let hi = t;
  let window = FIRST_WINDOW_MS;
  let lo = t - window - 1;
  let slot = slotAfter(lo);
  while (slot === undefined) {
    if (lo <= EARLIEST_MS) return undefined;
    hi = lo;
    window *= WINDOW_GROWTH;
    lo = Math.max(t - window - 1, EARLIEST_MS);
    slot = slotAfter(lo);
  }
  for (;;) {
    for (let i = 0; i < WALK_STEPS; i++) {
      const after = slotAfter(slot);
      if (after === undefined) return new Date(slot);
      slot = after;
    }
    const mid = slot + Math.floor((hi - slot) / 2);
    const beyond = slotAfter(mid);
    if (beyond === undefined) hi = mid;
    else slot = beyond;
  }
}

/** Two schedules are the same when they have the same expression and time zone. */
export function sameSchedule(a: Schedule, b: Schedule): boolean {
  return a.cron === b.cron && a.timezone === b.timezone;
}
