/**
 * The value types the policy schema is built from: names, cron schedules, time zones,
 * durations, counts and strings that may hold `${ENV}` references. Each carries the
 * description editors show and the sentence an error uses to say what to write.
 */
import { z } from 'zod';
import { CRON_HELP, cronProblem, isValidTimezone } from './cron.js';
import { DURATION_HELP, parseDuration, usesMinutes } from './duration.js';
import { secretRefProblem } from './secret-ref.js';

/** Names of keys, repositories and assets: they appear in tags, paths and URLs. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const NAME_HELP = 'names use letters, digits, ".", "_" and "-" and start with a letter or digit';

export const text = (description: string) => z.string().min(1).describe(description);

/** A string that may contain `${NAME}` environment references (checked for syntax only). */
export const withRefs = (description: string) =>
  z
    .string()
    .min(1)
    .superRefine((v, ctx) => {
      const problem = secretRefProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .describe(description);

export const cron = z
  .string()
  .superRefine((v, ctx) => {
    const problem = cronProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: `${problem} — write ${CRON_HELP}` });
  })
  .describe(`cron expression: ${CRON_HELP}`);

export const timezone = z
  .string()
  .superRefine((v, ctx) => {
    if (!isValidTimezone(v))
      ctx.addIssue({
        code: 'custom',
        message: `"${v}" is not a time zone — use an IANA name such as UTC, Europe/London or America/New_York`,
      });
  })
  .describe('IANA time zone, e.g. UTC or Europe/London');

export const schedule = z
  .union([
    cron,
    z.strictObject({
      cron,
      timezone: timezone.optional(),
    }),
  ])
  .describe(`when it runs: a cron expression ("0 3,15 * * *" = twice a day) or { cron, timezone }`);

export const duration = (description: string) =>
  z
    .string()
    .superRefine((v, ctx) => {
      if (!parseDuration(v))
        ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration — write ${DURATION_HELP}` });
    })
    .describe(`${description}: ${DURATION_HELP}`);

/** A retention period: like a duration, but minutes are refused (restic's "m" means months). */
export const retentionPeriod = (description: string) =>
  duration(description).superRefine((v, ctx) => {
    if (parseDuration(v) && usesMinutes(v))
      ctx.addIssue({
        code: 'custom',
        message: `"${v}" counts in minutes — retention periods use h, d, w, mo (months) or y; for six months write 6mo`,
      });
  });

/** A whole number from 1; `extra` is added to the message for 0 or less. */
export const count = (description: string, extra = '') =>
  z
    .int()
    .min(1, {
      error: (iss) => `${String(iss.input)} is not allowed — use a whole number of at least 1${extra}`,
    })
    .describe(description);

/** A keep-N count of a retention. */
export const keepCount = (description: string) =>
  count(description, ' (to keep everything for a period, use within: 60d)');
