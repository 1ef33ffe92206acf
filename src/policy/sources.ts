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
  bucket: text('bucket name'),
  prefix: z.string().optional().describe('only objects under this prefix'),
  region: text('bucket region, e.g. eu-west-2').optional(),
  endpoint: withRefs('S3-compatible endpoint URL (default: AWS)').optional(),
  accessKeyId: withRefs('access key id, e.g. "${AWS_ACCESS_KEY_ID}"').optional(),
  secretAccessKey: withRefs('secret access key: a reference such as "${AWS_SECRET_ACCESS_KEY}"').optional(),
  forcePathStyle: z.boolean().optional().describe('path-style URLs (MinIO and similar)'),
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
