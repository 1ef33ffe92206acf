/**
 * The schema of holdfast.yaml (zod): keys, repositories, assets with their inventory
 * fields, source, schedule, rpo, retention and copies, plus the daemon's settings. Objects
 * are strict (an unknown key is an error); checks that span several places (a name that
 * must exist, retention against immutability) are in semantics.ts.
 */
import { z } from 'zod';
import {
  count,
  duration,
  keepCount,
  retentionPeriod,
  schedule,
  text,
  timezone,
  withRefs,
  NAME_PATTERN,
} from './fields.js';
import { secretRefNames, secretRefProblem } from './secret-ref.js';
import { sourceSchema } from './sources.js';

export const DEFAULT_CATALOG = 'sqlite:.holdfast/catalog.db';
export const DEFAULT_TIMEZONE = 'UTC';
export const DEFAULT_CONCURRENCY = 2;

const name = z.string().regex(NAME_PATTERN);

export const keySchema = z
  .strictObject({
    passwordFile: withRefs('file holding the password; relative paths start at the policy file').optional(),
    passwordCommand: text(
      'shell command that prints the password, e.g. "pass show backup/primary"',
    ).optional(),
    password: withRefs('an environment reference such as "${BACKUP_PASSWORD}" (never the password itself)')
      .superRefine((v, ctx) => {
        if (secretRefNames(v).length === 0 && !secretRefProblem(v))
          ctx.addIssue({
            code: 'custom',
            message:
              'the password is written in the policy file — keep secrets out of it: write password: "${BACKUP_PASSWORD}" and set that environment variable, or use passwordFile',
          });
      })
      .optional(),
  })
  .describe('where a repository password comes from: exactly one of passwordFile, passwordCommand, password');

export const repositorySchema = z
  .strictObject({
    url: withRefs('repository location: a local path, or sftp:, rest:, s3:, rclone: URL (restic forms)'),
    key: text('name of the key (under keys:) that opens this repository'),
    location: text('where it is, for the inventory: region, site or account').optional(),
    immutable: z
      .strictObject({ days: count('days a snapshot cannot be deleted or changed (object lock)') })
      .optional()
      .describe('immutability: { days: 60 }'),
    appendOnly: z.boolean().optional().describe('the server refuses deletions (rest-server --append-only)'),
  })
  .describe('a restic-format repository');

export const retentionSchema = z
  .strictObject({
    within: retentionPeriod('keep every snapshot newer than this').optional(),
    withinHourly: retentionPeriod('keep one snapshot per hour for this long').optional(),
    withinDaily: retentionPeriod('keep one snapshot per day for this long').optional(),
    withinWeekly: retentionPeriod('keep one snapshot per week for this long').optional(),
    withinMonthly: retentionPeriod('keep one snapshot per month for this long').optional(),
    withinYearly: retentionPeriod('keep one snapshot per year for this long').optional(),
    keepLast: keepCount('keep the newest N snapshots').optional(),
    keepHourly: keepCount('keep the last snapshot of each of the last N hours').optional(),
    keepDaily: keepCount('keep the last snapshot of each of the last N days').optional(),
    keepWeekly: keepCount('keep the last snapshot of each of the last N weeks').optional(),
    keepMonthly: keepCount('keep the last snapshot of each of the last N months').optional(),
    keepYearly: keepCount('keep the last snapshot of each of the last N years').optional(),
    keepTag: z.array(z.string().min(1)).optional().describe('keep snapshots with any of these tags'),
  })
  .describe(
    'how long snapshots are kept: { within: 60d } or keepDaily / keepWeekly / keepMonthly / keepYearly ...',
  );

const drillSchema = z
  .looseObject({
    schedule: schedule.optional(),
    target: z.looseObject({ type: text('kind of restore target') }).optional(),
    probes: z.array(z.looseObject({})).optional(),
  })
  .describe('automated restore test: { schedule, target, probes }');

export const assetSchema = z
  .strictObject({
    data: text('what the data is, for the inventory, e.g. "Service database"'),
    storage: text('storage type, e.g. "PostgreSQL (Aurora)"').optional(),
    location: text('where it lives, e.g. an account, region or host').optional(),
    category: text('data category, e.g. patient-data or cloud-infrastructure').optional(),
    use: text('business use case').optional(),
    notes: text('anything an auditor should know; required with backup: none (say why)').optional(),
    backup: z
      .literal('none', {
        error: 'only "none" is allowed — write backup: none, or remove backup: to back the asset up',
      })
      .optional()
      .describe('"none" for an asset deliberately not backed up (give the reason in notes)'),
    source: sourceSchema.optional(),
    schedule: schedule.optional(),
    rpo: duration('recovery point objective: alert when the newest good backup is older').optional(),
    retention: retentionSchema.optional(),
    repository: text('name of the repository (under repositories:) the backups go to').optional(),
    copies: z
      .array(text('repository name'))
      .optional()
      .describe('repositories each snapshot is copied to (the backup of the backup)'),
    tags: z.array(z.string().min(1)).optional().describe('extra snapshot tags'),
    drill: drillSchema.optional(),
  })
  .describe('something the policy covers: inventory fields, and how it is backed up (or backup: none)');

const recoveryTierSchema = z.strictObject({
  tier: text('name of this step, e.g. identity or database'),
  assets: z.array(text('asset name')).optional().describe('assets restored in this step'),
  manual: text('what a person does in this step').optional(),
});

const checksSchema = z
  .looseObject({
    integrity: z
      .looseObject({
        schedule: schedule.optional(),
        readData: z.union([z.string(), z.number()]).optional().describe('share of pack data read, e.g. 5%'),
      })
      .optional(),
    health: z.looseObject({ schedule: schedule.optional() }).optional(),
  })
  .describe('integrity and health checks');

const auditSchema = z
  .looseObject({ retention: duration('how long audit records are kept').optional() })
  .describe('audit trail settings');

export const policySchema = z
  .strictObject({
    catalog: z
      .string()
      .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, {
        error: 'must be sqlite:PATH or postgres://… — e.g. catalog: sqlite:.holdfast/catalog.db',
      })
      .default(DEFAULT_CATALOG)
      .describe('where run history is kept: sqlite:PATH (relative to the policy file) or postgres://…'),
    timezone: timezone
      .default(DEFAULT_TIMEZONE)
      .describe('time zone of schedules without their own (default UTC)'),
    concurrency: count('how many jobs the daemon runs at once (default 2)').default(DEFAULT_CONCURRENCY),
    keys: z.record(name, keySchema).default({}).describe('repository passwords by name'),
    repositories: z.record(name, repositorySchema).default({}).describe('repositories by name'),
    assets: z.record(name, assetSchema).describe('the assets the policy covers, by name'),
    recovery: z
      .array(recoveryTierSchema)
      .optional()
      .describe('the order of restoration after a total failure'),
    checks: checksSchema.optional(),
    alerts: z
      .array(z.looseObject({}))
      .optional()
      .describe('where alerts go, e.g. - slack: { webhookUrl: "${SLACK_WEBHOOK_URL}" }'),
    audit: auditSchema.optional(),
  })
  .describe('holdfast policy file');

export type PolicyFile = z.output<typeof policySchema>;
export type PolicyFileInput = z.input<typeof policySchema>;
export type AssetSpec = z.output<typeof assetSchema>;
export type RepositorySpecInput = z.output<typeof repositorySchema>;
export type KeySpecInput = z.output<typeof keySchema>;
export type RetentionSpec = z.output<typeof retentionSchema>;
export type ScheduleSpec = z.output<typeof schedule>;
