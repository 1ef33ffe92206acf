/**
 * Every source kind behind two calls: `backupSource` dispatches a source spec to its
 * kind's backup, `restoreSource` reads a snapshot's kind (its /holdfast-source.json, else
 * its `source:` tag) and dispatches to that kind's restore.
 */
import type { BackupResult } from '../engine/archiver.js';
import type { Repository } from '../engine/repository.js';
import type { StoredSnapshot } from '../engine/snapshots.js';
import { fail } from '../errors.js';
import { backupCommandSource, type CommandSourceSpec, restoreCommandSource } from './command.js';
import {
  backupFilesSource,
  type FilesBackupOptions,
  type FilesSourceSpec,
  restoreFilesSource,
} from './files.js';
import { backupGit, type GitSourceSpec, restoreGit } from './git.js';
import { backupMysql, type MysqlSourceSpec, restoreMysql } from './mysql.js';
import { backupPostgres, type PostgresSourceSpec, restorePostgres } from './postgres.js';
import { backupRedis, type RedisSourceSpec, restoreRedis } from './redis.js';
import { backupS3, restoreS3, type S3SourceOptions, type S3SourceSpec } from './s3.js';
import { type SourceMeta, type SourceRestoreResult, sourceTypeOf } from './source-snapshot.js';

export type StreamSourceSpec =
  | PostgresSourceSpec
  | MysqlSourceSpec
  | RedisSourceSpec
  | GitSourceSpec
  | FilesSourceSpec
  | CommandSourceSpec
  | S3SourceSpec;

/** Settings some kinds need that come from the caller's environment. */
export interface SourceOptions extends FilesBackupOptions {
  /** Region, path style and credentials for the s3 kind (default: the AWS SDK's own chain). */
  s3?: S3SourceOptions;
}

export async function backupSource(
  repo: Repository,
  spec: StreamSourceSpec,
  meta: SourceMeta,
  opts: SourceOptions = {},
): Promise<BackupResult> {
  switch (spec.type) {
    case 'postgres':
      return backupPostgres(repo, spec, meta);
    case 'mysql':
      return backupMysql(repo, spec, meta);
    case 'redis':
      return backupRedis(repo, spec, meta);
    case 'git':
      return backupGit(repo, spec, meta);
    case 'files':
      return backupFilesSource(repo, spec, meta, opts);
    case 'command':
      return backupCommandSource(repo, spec, meta);
    case 's3':
      return backupS3(repo, spec, meta, opts.s3);
    default:
      return fail('INVALID_ARGUMENT', `unknown source type "${(spec as { type: string }).type}"`);
  }
}

export interface SourceRestoreOptions {
  /** Where to: a server URL (postgres, mysql), a directory (redis, files, command), a new bare repository path (git), `s3:…/bucket/prefix`. */
  into: string;
  s3?: S3SourceOptions;
  /** Database of the snapshot to restore (postgres, mysql; default every one). */
  database?: string;
  /** Target database name when one database is restored. */
  target?: string;
  /** postgres: also restore roles and tablespaces (globals.sql) first. */
  globals?: boolean;
}

export async function restoreSource(
  repo: Repository,
  snap: StoredSnapshot,
  opts: SourceRestoreOptions,
): Promise<SourceRestoreResult> {
  const type = await sourceTypeOf(repo, snap);
  switch (type) {
    case 'postgres':
      return restorePostgres(repo, snap, opts);
    case 'mysql':
      return restoreMysql(repo, snap, opts);
    case 'redis':
      return restoreRedis(repo, snap, opts);
    case 'git':
      return restoreGit(repo, snap, opts);
    case 'files':
      return restoreFilesSource(repo, snap, opts);
    case 'command':
      return restoreCommandSource(repo, snap, opts.into);
    case 's3':
      return restoreS3(repo, snap, { ...opts.s3, into: opts.into });
    default:
      return fail('INVALID_ARGUMENT', `restoring a ${type} snapshot is not supported by source-restore`);
  }
}
