/**
 * Cron expressions and time zones as the policy file uses them, checked with croner:
 * five fields (minute hour day-of-month month day-of-week), six with seconds first, or a
 * nickname (@hourly, @daily, @weekly, @monthly, @yearly). Time zones are IANA names.
 */
import { Cron } from 'croner';

export const CRON_HELP =
  'five fields "minute hour day-of-month month day-of-week" in quotes, e.g. "0 3 * * *" (daily at 03:00) or "0 3,15 * * *" (twice a day)';

const NICKNAMES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/** Why the expression is not a usable schedule, or undefined when it is. */
export function cronProblem(expr: string): string | undefined {
  const text = expr.trim();
  if (text.startsWith('@')) {
    if (!NICKNAMES.includes(text.toLowerCase()))
      return `"${text}" is not a cron nickname (use ${NICKNAMES.join(', ')})`;
    return undefined;
  }
  const fields = text.split(/\s+/).filter(Boolean);
  if (fields.length < 5 || fields.length > 6)
    return `"${text}" has ${fields.length} field${fields.length === 1 ? '' : 's'}, a cron expression has 5`;
  let job: Cron;
  try {
    job = new Cron(text, { paused: true, timezone: 'UTC' });
  } catch (err) {
    const why = (err as Error).message.replace(/^CronPattern:\s*/, '');
    return `"${text}" is not a valid cron expression (${why})`;
  }
  if (!job.nextRun()) return `"${text}" never runs (no date matches it)`;
  return undefined;
}

export function isValidTimezone(tz: string): boolean {
  if (tz.trim() === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The next `count` run times after `from`. */
export function nextRuns(expr: string, timezone: string, count: number, from = new Date()): Date[] {
  return new Cron(expr.trim(), { paused: true, timezone }).nextRuns(count, from);
}

/** The longest gap between consecutive runs among the next `count` runs, in ms. */
export function longestGapMs(expr: string, timezone: string, count = 60, from = new Date()): number {
  const runs = nextRuns(expr, timezone, count, from);
  let gap = 0;
  for (let i = 1; i < runs.length; i++) gap = Math.max(gap, runs[i].getTime() - runs[i - 1].getTime());
  return gap;
}
