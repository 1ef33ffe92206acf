/**
 * What each kind of asset source may say in holdfast.yaml (`source: { type: ..., ... }`).
 * One strict object per kind; a new source kind adds its schema to SOURCE_SCHEMAS here and
 * later sources may add fields to their own entry. Unknown kinds and fields are rejected.
 */
import { z } from 'zod';
import { text, withRefs } from './fields.js';

const commands = z
  .union([z.string().min(1), z.array(z.string().min(1))])
  .describe('shell command(s) run before the backup; a failure stops it');

export const filesSource = z.strictObject({
  type: z.literal('files'),
  paths: z
    .array(z.string().min(1))
    .min(1)
    .describe('files and directories to back up; relative paths start at the policy file'),
  exclude: z.array(z.string().min(1)).optional().describe('exclude patterns (restic syntax, e.g. "*.tmp")'),
  excludeFile: z.array(z.string().min(1)).optional().describe('files holding exclude patterns'),
  before: commands.optional(),
});

export const commandSource = z.strictObject({
  type: z.literal('command'),
  command: text('shell command whose standard output is backed up as one file'),
  filename: text('name of that file in the snapshot (default: the asset name)').optional(),
});

export const postgresSource = z.strictObject({
  type: z.literal('postgres'),
  url: withRefs(
    'connection URL, e.g. "postgres://backup@db/app"; put a password in ${PGPASSWORD}-style references',
  ),
  databases: z
    .array(z.string().min(1))
    .optional()
    .describe('databases to dump (default: the one in the URL)'),
  globals: z.boolean().optional().describe('also dump roles and tablespaces (pg_dumpall --globals-only)'),
});

export const mysqlSource = z.strictObject({
  type: z.literal('mysql'),
  url: withRefs('connection URL, e.g. "mysql://backup@db/app"'),
  databases: z
    .array(z.string().min(1))
    .optional()
    .describe('databases to dump (default: the one in the URL)'),
});

export const redisSource = z.strictObject({
  type: z.literal('redis'),
  url: withRefs('connection URL, e.g. "redis://cache:6379"'),
});

export const gitSource = z.strictObject({
  type: z.literal('git'),
  url: withRefs('repository URL to mirror, e.g. "https://github.com/acme/app.git"'),
});

export const s3Source = z.strictObject({
  type: z.literal('s3'),
  url: withRefs(
    'bucket and prefix in restic\'s form, e.g. "s3:https://s3.eu-west-2.amazonaws.com/acme-terraform/state" (credentials from the AWS environment)',
  ),
  versions: z.boolean().optional().describe('every version of every object (the bucket must be versioned)'),
});

export const SOURCE_SCHEMAS = [
  filesSource,
  commandSource,
  postgresSource,
  mysqlSource,
  redisSource,
  gitSource,
  s3Source,
] as const;

export const SOURCE_TYPES: readonly string[] = SOURCE_SCHEMAS.map((s) => s.shape.type.value);

export const sourceSchema = z
  .discriminatedUnion('type', [...SOURCE_SCHEMAS])
  .describe(`where the data comes from: { type: ${SOURCE_TYPES.join(' | ')}, ... }`);

export type SourceSpec = z.output<typeof sourceSchema>;
export type FilesSourceSpec = z.output<typeof filesSource>;
