/**
 * A cron expression in words for the data inventory's "Frequency" column: "Every hour",
 * "Twice a day", "Daily at 03:00", "Weekly on Sunday", "Monthly", "Quarterly", ... The
 * common shapes are named; anything else falls back to `Cron: <expression>`.
 */

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const DAY_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

const NUMBER = /^\d+$/;

/** The values of a field made of numbers, ranges and names ("1,4,7,10", "1-5", "mon"); undefined otherwise. */
function values(
  field: string,
  names: (s: string) => number | undefined = () => undefined,
): number[] | undefined {
  const out: number[] = [];
  for (const part of field.split(',')) {
    const one = (s: string) => (NUMBER.test(s) ? Number(s) : names(s.toLowerCase()));
    const range = part.split('-');
    if (range.length === 1) {
      const v = one(part);
      if (v === undefined) return undefined;
      out.push(v);
    } else if (range.length === 2) {
      const a = one(range[0]);
      const b = one(range[1]);
      if (a === undefined || b === undefined || b < a) return undefined;
      for (let v = a; v <= b; v++) out.push(v);
    } else return undefined;
  }
  return [...new Set(out)].sort((x, y) => x - y);
}

/** A step field ("every N", written star-slash-N) → N. */
function step(field: string): number | undefined {
  const m = /^\*\/(\d+)$/.exec(field);
  return m ? Number(m[1]) : undefined;
}

const times = (n: number, unit: string) =>
  n === 1 ? `Once a ${unit}` : n === 2 ? `Twice a ${unit}` : `${n} times a ${unit}`;

const pad = (n: number) => String(n).padStart(2, '0');

function months(field: string): number | undefined {
  if (field === '*') return 12;
  const s = step(field);
  if (s) return Math.ceil(12 / s);
  return values(field, (n) => {
    const i = MONTH_NAMES.indexOf(n);
    return i < 0 ? undefined : i + 1;
  })?.length;
}

function perYear(n: number): string {
  if (n === 12) return 'Monthly';
  if (n === 4) return 'Quarterly';
  if (n === 1) return 'Yearly';
  return times(n, 'year');
}

export function describeSchedule(cron: string): string {
  const text = cron.trim();
  const fallback = `Cron: ${text}`;
  const nick = text.toLowerCase();
  if (nick === '@hourly') return 'Every hour';
  if (nick === '@daily' || nick === '@midnight') return 'Daily at 00:00';
  if (nick === '@weekly') return 'Weekly on Sunday';
  if (nick === '@monthly') return 'Monthly';
  if (nick === '@yearly' || nick === '@annually') return 'Yearly';

  let fields = text.split(/\s+/);
  if (fields.length === 6) {
    if (!NUMBER.test(fields[0])) return fallback;
    fields = fields.slice(1);
  }
  if (fields.length !== 5) return fallback;
  const [min, hour, dom, mon, dow] = fields;
  const anyDay = dom === '*' && (dow === '*' || dow === '?');

  // Within a day.
  if (anyDay && mon === '*') {
    if (min === '*' && hour === '*') return 'Every minute';
    const minStep = step(min);
    if (minStep && hour === '*') return minStep === 1 ? 'Every minute' : `Every ${minStep} minutes`;
    const mins = values(min);
    if (mins && hour === '*') return mins.length === 1 ? 'Every hour' : times(mins.length, 'hour');
    const hourStep = step(hour);
    if (mins?.length === 1 && hourStep) return hourStep === 1 ? 'Every hour' : `Every ${hourStep} hours`;
    const hours = values(hour);
    if (mins?.length === 1 && hours) {
      if (hours.length === 1) return `Daily at ${pad(hours[0])}:${pad(mins[0])}`;
      return times(hours.length, 'day');
    }
    return fallback;
  }

  // The time of day must be a single time from here on.
  const timeOk = NUMBER.test(min) && NUMBER.test(hour);
  if (!timeOk) return fallback;

  // Days of the week.
  if (dom === '*' && mon === '*') {
    const days = values(dow, (n) => DAY_NAMES[n.slice(0, 3)])?.map((d) => d % 7);
    if (!days) return fallback;
    const unique = [...new Set(days)].sort();
    if (unique.length === 1) return `Weekly on ${DAYS[unique[0]]}`;
    if (unique.join(',') === '1,2,3,4,5') return `Weekdays at ${pad(Number(hour))}:${pad(Number(min))}`;
    if (unique.length === 7) return `Daily at ${pad(Number(hour))}:${pad(Number(min))}`;
    return times(unique.length, 'week');
  }

  // Days of the month.
  if (dow === '*' || dow === '?') {
    const doms = values(dom);
    const perMonth = doms?.length;
    const n = months(mon);
    if (!perMonth || !n) return fallback;
    if (perMonth === 1) return perYear(n);
    if (n === 12) return times(perMonth, 'month');
    return fallback;
  }
  return fallback;
}
