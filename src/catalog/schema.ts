/**
 * The catalog's tables as kysely sees them, and the closed vocabularies stored in them.
 * Timestamps are stored as ISO-8601 UTC text with milliseconds (`toISOString()` form), so
 * they sort as text in both SQLite and PostgreSQL and read back identically.
 */
import type { Generated } from 'kysely';

export const JOB_KINDS = ['backup', 'forget', 'prune', 'copy', 'check', 'drill', 'restore'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JOB_STATUSES = ['running', 'succeeded', 'failed', 'aborted'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The kinds of job that prove a backup can be read back: the basis of "last verified". */
export const VERIFYING_KINDS: readonly JobKind[] = ['check', 'drill'];

export interface JobsTable {
  id: Generated<number>;
  asset: string;
  kind: string;
  repository: string | null;
  started_at: string;
  finished_at: string | null;
  status: string;
  /** bigint in PostgreSQL, which pg returns as a string: convert with Number(). */
  bytes_added: number | string | null;
  snapshot_id: string | null;
  error: string | null;
  /** JSON text. */
  details: string | null;
  host: string | null;
  pid: number | null;
}

export interface HeartbeatsTable {
  name: string;
  at: string;
  pid: number | null;
  host: string | null;
}

export interface MigrationsTable {
  version: number;
  name: string;
  applied_at: string;
}

export interface CatalogTables {
  jobs: JobsTable;
  heartbeats: HeartbeatsTable;
  holdfast_migrations: MigrationsTable;
}
