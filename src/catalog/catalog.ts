/**
 * The catalog: the record of what actually happened — every job (backup, forget, prune,
 * copy, check, drill, restore) with its outcome, and the heartbeats of long-running
 * processes. One kysely code path serves SQLite (`sqlite:PATH`, the default) and
 * PostgreSQL (`postgres://…`, for several workers). The schema is migrated on open.
 *
 * Conventions:
 * - Timestamps go in as a `Date` or an ISO-8601 string with a time zone (`Z` or `+01:00`),
 *   and come out as ISO-8601 UTC strings with milliseconds (`2026-01-02T03:04:05.000Z`).
 * - "Newest" means latest `startedAt` (ties: the later-started job, by id): the data of a
 *   backup is as of its start.
 * - An optional `repository` argument left out means "any repository".
 * - Error texts, abort reasons and strings in details are passed through `redactSecrets`
 *   before they are stored.
 */
import * as os from 'node:os';
import { sql, type Kysely, type Selectable } from 'kysely';
import { fail, isHoldfastError } from '../errors.js';
import { connectCatalog } from './connection.js';
import { appliedMigrations, migrate, type AppliedMigration } from './migrations.js';
import { redactJson, redactSecrets } from './redact.js';
import {
  JOB_KINDS,
  JOB_STATUSES,
  VERIFYING_KINDS,
  type CatalogTables,
  type JobKind,
  type JobStatus,
  type JobsTable,
} from './schema.js';
import type { CatalogDialect } from './url.js';

export type { JobKind, JobStatus } from './schema.js';
export { JOB_KINDS, JOB_STATUSES } from './schema.js';
export { redactSecrets } from './redact.js';
export type { AppliedMigration } from './migrations.js';
export type { CatalogDialect } from './url.js';

/** A point in time: a `Date`, or an ISO-8601 string that carries its time zone. */
export type Timestamp = Date | string;

export interface StartJobInput {
  asset: string;
  kind: JobKind;
  /** Name of the repository (from the policy) the job writes or reads. */
  repository?: string;
  startedAt: Timestamp;
  /** Who runs the job; defaults to this process (`os.hostname()`, `process.pid`). */
  host?: string;
  pid?: number;
}

export type FinishedStatus = Exclude<JobStatus, 'running'>;

export interface FinishJobInput {
  status: FinishedStatus;
  finishedAt: Timestamp;
  bytesAdded?: number;
  snapshotId?: string;
  /** One line for a person; redacted again before it is stored. */
  error?: string;
  /** Any JSON-serializable object (stored as JSON text). */
  details?: Record<string, unknown>;
}

export interface JobRecord {
  id: number;
  asset: string;
  kind: JobKind;
  repository: string | null;
  startedAt: string;
  finishedAt: string | null;
  status: JobStatus;
  bytesAdded: number | null;
  snapshotId: string | null;
  error: string | null;
  details: Record<string, unknown> | null;
  host: string | null;
  pid: number | null;
}

export interface JobFilter {
  asset?: string;
  kind?: JobKind | readonly JobKind[];
  status?: JobStatus | readonly JobStatus[];
  repository?: string;
  /** Only jobs started at or after this time. */
  since?: Timestamp;
  /** At most this many jobs (the newest). */
  limit?: number;
}

export interface Heartbeat {
  name: string;
  at: string;
  pid: number | null;
  host: string | null;
}

export interface Catalog {
  readonly dialect: CatalogDialect;
  /** Records a job as running; returns its id. */
  startJob(input: StartJobInput): Promise<number>;
  /**
   * Records the outcome of a running job. A job that does not exist is NOT_FOUND; one
   * that already finished (or was aborted) is a CATALOG error: outcomes are not rewritten.
   */
  finishJob(id: number, outcome: FinishJobInput): Promise<void>;
  getJob(id: number): Promise<JobRecord | undefined>;
  /** Jobs matching every given filter, newest first. */
  listJobs(filter?: JobFilter): Promise<JobRecord[]>;
  /** The newest job of an asset (of a kind, in a repository), whatever its status. */
  lastJob(asset: string, kind?: JobKind, repository?: string): Promise<JobRecord | undefined>;
  /** The newest succeeded job of an asset and kind (in a repository). */
  lastSuccessful(asset: string, kind: JobKind, repository?: string): Promise<JobRecord | undefined>;
  /** The newest succeeded check or drill of an asset (in a repository): "last verified". */
  lastVerified(asset: string, repository?: string): Promise<JobRecord | undefined>;
  /**
   * The newest job for every (asset, kind, repository) that has one, optionally only among
   * jobs of one status (e.g. 'succeeded' for "last good"); ordered by asset, kind, repository.
   */
  latestJobs(filter?: { asset?: string; status?: JobStatus }): Promise<JobRecord[]>;
  /**
   * Marks jobs still 'running' as 'aborted' with `reason` as their error and `at` as their
   * finish time; returns how many. Used when a daemon starts, for jobs a killed process left
   * behind. With `host`, only jobs started on that host (other workers' jobs are alive).
   */
  abortRunningJobs(reason: string, at: Timestamp, scope?: { host?: string }): Promise<number>;
  /** Records that `name` (e.g. "daemon") was alive at `at`; defaults to this process. */
  recordHeartbeat(name: string, at: Timestamp, who?: { pid?: number; host?: string }): Promise<void>;
  heartbeat(name: string): Promise<Heartbeat | undefined>;
  /** All heartbeats, by name. */
  listHeartbeats(): Promise<Heartbeat[]>;
  /** The schema migrations recorded in this catalog, oldest first. */
  appliedMigrations(): Promise<AppliedMigration[]>;
  /** Closes the connection(s); later calls fail. Calling it twice is harmless. */
  close(): Promise<void>;
}

/**
 * Opens the catalog at `url` (`sqlite:PATH`, `postgres://…`, `postgresql://…`) and brings
 * its schema up to date. Errors: CATALOG for an unknown scheme, an unreachable or
 * unusable database, or a schema newer than this holdfast.
 */
export async function openCatalog(url: string): Promise<Catalog> {
  const conn = await connectCatalog(url);
  try {
    await migrate(conn);
  } catch (err) {
    await conn.db.destroy().catch(() => undefined);
    throw err;
  }
  return new SqlCatalog(conn.db, conn.dialect, conn.description);
}

class SqlCatalog implements Catalog {
  #db: Kysely<CatalogTables> | undefined;
  readonly #description: string;

  constructor(
    db: Kysely<CatalogTables>,
    readonly dialect: CatalogDialect,
    description: string,
  ) {
    this.#db = db;
    this.#description = description;
  }

  get #kysely(): Kysely<CatalogTables> {
    if (this.#db === undefined) fail('CATALOG', `the catalog at ${this.#description} is closed`);
    return this.#db;
  }

  async startJob(input: StartJobInput): Promise<number> {
    const row = await this.#run('record the start of a job', () =>
      this.#kysely
        .insertInto('jobs')
        .values({
          asset: nonEmpty(input.asset, 'asset'),
          kind: oneOf(input.kind, JOB_KINDS, 'job kind'),
          repository: input.repository === undefined ? null : nonEmpty(input.repository, 'repository'),
          started_at: toIso(input.startedAt, 'startedAt'),
          status: 'running',
          host: input.host ?? os.hostname(),
          pid: input.pid ?? process.pid,
        })
        .returning('id')
        .executeTakeFirstOrThrow(),
    );
    return Number(row.id);
  }

  async finishJob(id: number, outcome: FinishJobInput): Promise<void> {
    const status = oneOf(outcome.status, JOB_STATUSES, 'job status');
    if (status === 'running') fail('INVALID_ARGUMENT', 'a job cannot finish with status "running"');
    const bytes = outcome.bytesAdded;
    if (bytes !== undefined && (!Number.isSafeInteger(bytes) || bytes < 0)) {
      fail('INVALID_ARGUMENT', `bytesAdded must be a non-negative integer, not ${bytes}`);
    }
    const values = {
      status,
      finished_at: toIso(outcome.finishedAt, 'finishedAt'),
      bytes_added: bytes ?? null,
      snapshot_id: outcome.snapshotId ?? null,
      error: outcome.error === undefined ? null : redactSecrets(outcome.error),
      details: outcome.details === undefined ? null : detailsJson(outcome.details),
    };
    const result = await this.#run(`record the outcome of job ${id}`, () =>
      this.#kysely
        .updateTable('jobs')
        .set(values)
        .where('id', '=', id)
        .where('status', '=', 'running')
        .executeTakeFirst(),
    );
    if (Number(result.numUpdatedRows) > 0) return;
    const job = await this.getJob(id);
    if (job === undefined) fail('NOT_FOUND', `the catalog has no job ${id}`);
    fail(
      'CATALOG',
      `job ${id} (${job.kind} of ${job.asset}) is already ${job.status}; its outcome is not rewritten`,
    );
  }

  async getJob(id: number): Promise<JobRecord | undefined> {
    const row = await this.#run(`read job ${id}`, () =>
      this.#kysely.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row === undefined ? undefined : toJobRecord(row);
  }

  async listJobs(filter: JobFilter = {}): Promise<JobRecord[]> {
    let q = this.#kysely.selectFrom('jobs').selectAll();
    if (filter.asset !== undefined) q = q.where('asset', '=', filter.asset);
    if (filter.repository !== undefined) q = q.where('repository', '=', filter.repository);
    if (filter.kind !== undefined) {
      const kinds = listOf(filter.kind).map((k) => oneOf(k, JOB_KINDS, 'job kind'));
      q = kinds.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('kind', 'in', kinds);
    }
    if (filter.status !== undefined) {
      const statuses = listOf(filter.status).map((s) => oneOf(s, JOB_STATUSES, 'job status'));
      q = statuses.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('status', 'in', statuses);
    }
    if (filter.since !== undefined) q = q.where('started_at', '>=', toIso(filter.since, 'since'));
    q = q.orderBy('started_at', 'desc').orderBy('id', 'desc');
    if (filter.limit !== undefined) {
      if (!Number.isSafeInteger(filter.limit) || filter.limit < 1) {
        fail('INVALID_ARGUMENT', `limit must be a positive integer, not ${filter.limit}`);
      }
      q = q.limit(filter.limit);
    }
    const rows = await this.#run('list jobs', () => q.execute());
    return rows.map(toJobRecord);
  }

  async lastJob(asset: string, kind?: JobKind, repository?: string): Promise<JobRecord | undefined> {
    return (await this.listJobs({ asset, kind, repository, limit: 1 }))[0];
  }

  async lastSuccessful(asset: string, kind: JobKind, repository?: string): Promise<JobRecord | undefined> {
    return (await this.listJobs({ asset, kind, repository, status: 'succeeded', limit: 1 }))[0];
  }

  async lastVerified(asset: string, repository?: string): Promise<JobRecord | undefined> {
    return (
      await this.listJobs({ asset, kind: VERIFYING_KINDS, repository, status: 'succeeded', limit: 1 })
    )[0];
  }

  async latestJobs(filter: { asset?: string; status?: JobStatus } = {}): Promise<JobRecord[]> {
    let inner = this.#kysely
      .selectFrom('jobs')
      .selectAll()
      .select(
        sql<number>`row_number() over (partition by asset, kind, coalesce(repository, '') order by started_at desc, id desc)`.as(
          'rank',
        ),
      );
    if (filter.asset !== undefined) inner = inner.where('asset', '=', filter.asset);
    if (filter.status !== undefined)
      inner = inner.where('status', '=', oneOf(filter.status, JOB_STATUSES, 'job status'));
    const rows = await this.#run('list the latest jobs', () =>
      this.#kysely.selectFrom(inner.as('ranked')).selectAll().where('rank', '=', 1).execute(),
    );
    // Sorted here, not in SQL: PostgreSQL's collation and NULL order differ from SQLite's.
    const key = (j: JobRecord) => [j.asset, j.kind, j.repository ?? ''];
    return rows.map(toJobRecord).sort((a, b) => compareKeys(key(a), key(b)));
  }

  async abortRunningJobs(reason: string, at: Timestamp, scope: { host?: string } = {}): Promise<number> {
    let q = this.#kysely
      .updateTable('jobs')
      .set({ status: 'aborted', finished_at: toIso(at, 'at'), error: redactSecrets(reason) })
      .where('status', '=', 'running');
    if (scope.host !== undefined) q = q.where('host', '=', scope.host);
    const result = await this.#run('abort running jobs', () => q.executeTakeFirst());
    return Number(result.numUpdatedRows);
  }

  async recordHeartbeat(
    name: string,
    at: Timestamp,
    who: { pid?: number; host?: string } = {},
  ): Promise<void> {
    const values = {
      name: nonEmpty(name, 'heartbeat name'),
      at: toIso(at, 'at'),
      pid: who.pid ?? process.pid,
      host: who.host ?? os.hostname(),
    };
    await this.#run(`record the heartbeat of ${name}`, () =>
      this.#kysely
        .insertInto('heartbeats')
        .values(values)
        .onConflict((oc) =>
          oc.column('name').doUpdateSet({ at: values.at, pid: values.pid, host: values.host }),
        )
        .execute(),
    );
  }

  async heartbeat(name: string): Promise<Heartbeat | undefined> {
    const row = await this.#run(`read the heartbeat of ${name}`, () =>
      this.#kysely.selectFrom('heartbeats').selectAll().where('name', '=', name).executeTakeFirst(),
    );
    return row === undefined ? undefined : toHeartbeat(row);
  }

  async listHeartbeats(): Promise<Heartbeat[]> {
    const rows = await this.#run('list heartbeats', () =>
      this.#kysely.selectFrom('heartbeats').selectAll().orderBy('name').execute(),
    );
    return rows.map(toHeartbeat);
  }

  async appliedMigrations(): Promise<AppliedMigration[]> {
    return this.#run('list migrations', () => appliedMigrations(this.#kysely));
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    await db?.destroy();
  }

  /** Runs a query; a driver error becomes a CATALOG error naming what was being done. */
  async #run<T>(what: string, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (err) {
      if (isHoldfastError(err)) throw err;
      const reason = err instanceof Error ? redactSecrets(err.message.split('\n')[0] ?? '') : String(err);
      fail('CATALOG', `cannot ${what} in the catalog at ${this.#description}: ${reason}`, err);
    }
  }
}

function toJobRecord(r: Selectable<JobsTable>): JobRecord {
  return {
    id: Number(r.id),
    asset: r.asset,
    kind: r.kind as JobKind,
    repository: r.repository,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    status: r.status as JobStatus,
    bytesAdded: r.bytes_added === null ? null : Number(r.bytes_added),
    snapshotId: r.snapshot_id,
    error: r.error,
    details: r.details === null ? null : (JSON.parse(r.details) as Record<string, unknown>),
    host: r.host,
    pid: r.pid === null ? null : Number(r.pid),
  };
}

function toHeartbeat(r: { name: string; at: string; pid: number | null; host: string | null }): Heartbeat {
  return { name: r.name, at: r.at, pid: r.pid === null ? null : Number(r.pid), host: r.host };
}

const HAS_ZONE = /(?:Z|[+-]\d\d:?\d\d)$/i;

/** Normalizes a timestamp to `toISOString()` form, the stored and returned format. */
function toIso(value: Timestamp, what: string): string {
  let date: Date;
  if (value instanceof Date) {
    date = value;
  } else if (typeof value === 'string' && HAS_ZONE.test(value.trim())) {
    date = new Date(value.trim());
  } else {
    fail(
      'INVALID_ARGUMENT',
      `${what} must be a Date or an ISO-8601 time with a time zone, not ${JSON.stringify(value)}`,
    );
  }
  if (Number.isNaN(date.getTime())) fail('INVALID_ARGUMENT', `${what} is not a valid time: ${String(value)}`);
  return date.toISOString();
}

function detailsJson(details: Record<string, unknown>): string {
  try {
    return JSON.stringify(redactJson(details));
  } catch (err) {
    fail('INVALID_ARGUMENT', `job details must be JSON-serializable: ${(err as Error).message}`, err);
  }
}

function nonEmpty(value: string, what: string): string {
  if (typeof value !== 'string' || value === '')
    fail('INVALID_ARGUMENT', `the ${what} must be a non-empty string`);
  return value;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    fail(
      'INVALID_ARGUMENT',
      `unknown ${what} ${JSON.stringify(value)}; expected one of ${allowed.join(', ')}`,
    );
  }
  return value as T;
}

function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

function listOf<T>(value: T | readonly T[]): readonly T[] {
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}
