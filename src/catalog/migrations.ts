/**
 * The catalog's schema as a versioned list of migrations, applied in order on open.
 * Each migration runs in its own transaction together with its row in
 * `holdfast_migrations`, so it is applied completely or not at all, and never twice.
 * Concurrent opens are safe: PostgreSQL takes a transaction-scoped advisory lock, SQLite
 * starts each migration transaction with a write (taking the database's write lock), and
 * opens of one SQLite file within a process are serialized.
 *
 * kysely's own Migrator is not used: it keys migrations by name and sorts them as text;
 * holdfast wants integer versions and a newer-than-known check.
 *
 * Append new migrations at the end; never edit one that has shipped.
 */
import { sql, type Kysely } from 'kysely';
import { fail } from '../errors.js';
import type { CatalogConnection } from './connection.js';
import { reasonOf } from './connection.js';
import type { CatalogTables } from './schema.js';
import type { CatalogDialect } from './url.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Runs inside the migration's transaction. Use the schema builder; branch on dialect only for types. */
  up(db: Kysely<CatalogTables>, dialect: CatalogDialect): Promise<void>;
}

export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly appliedAt: string;
}

/** Key of the PostgreSQL advisory lock held while migrating (advisory locks are per database). */
const ADVISORY_LOCK_KEY = 0x686f6c64; // "hold"

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs and heartbeats',
    async up(db, dialect) {
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'integer', (c) =>
          dialect === 'postgres'
            ? c.primaryKey().generatedByDefaultAsIdentity()
            : c.primaryKey().autoIncrement(),
        )
        .addColumn('asset', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('repository', 'text')
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('bytes_added', 'bigint')
        .addColumn('snapshot_id', 'text')
        .addColumn('error', 'text')
        .addColumn('details', 'text')
        .addColumn('host', 'text')
        .addColumn('pid', 'integer')
        .execute();
      await db.schema
        .createIndex('jobs_asset_kind_started')
        .on('jobs')
        .columns(['asset', 'kind', 'started_at'])
        .execute();
      await db.schema.createIndex('jobs_started').on('jobs').column('started_at').execute();
      await db.schema.createIndex('jobs_status').on('jobs').column('status').execute();
      await db.schema
        .createTable('heartbeats')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer')
        .addColumn('host', 'text')
        .execute();
    },
  },
];

const localLocks = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier call with the same key has settled (an in-process mutex). */
async function serialized<T>(key: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (key === undefined) return fn();
  const previous = localLocks.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const settled = run.catch(() => undefined);
  localLocks.set(key, settled);
  try {
    return await run;
  } finally {
    if (localLocks.get(key) === settled) localLocks.delete(key);
  }
}

/** Takes the migration lock inside `trx`; held until the transaction ends. */
async function lockForMigration(trx: Kysely<CatalogTables>, dialect: CatalogDialect): Promise<void> {
  if (dialect === 'postgres') {
    await sql`select pg_advisory_xact_lock(${sql.lit(ADVISORY_LOCK_KEY)})`.execute(trx);
  } else {
    // A write as the transaction's first statement takes SQLite's write lock (waiting up to
    // the busy timeout), so no other connection can check-then-apply at the same time.
    await sql`update holdfast_migrations set version = version where 1 = 0`.execute(trx);
  }
}

function checkList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (!Number.isSafeInteger(m.version) || m.version <= (i === 0 ? 0 : migrations[i - 1].version)) {
      throw new Error(`catalog migrations must have increasing positive versions (at ${m.version})`);
    }
  });
}

/**
 * Brings the catalog's schema up to date; returns the versions applied by this call
 * (empty when the schema was current). A catalog newer than `migrations` is refused.
 */
export async function migrate(
  conn: CatalogConnection,
  migrations: readonly Migration[] = MIGRATIONS,
  now: () => Date = () => new Date(),
): Promise<number[]> {
  checkList(migrations);
  const { db, dialect, description } = conn;
  return serialized(conn.localLockKey, async () => {
    try {
      await db.transaction().execute(async (trx) => {
        if (dialect === 'postgres') await lockForMigration(trx, dialect);
        await trx.schema
          .createTable('holdfast_migrations')
          .ifNotExists()
          .addColumn('version', 'integer', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('applied_at', 'text', (c) => c.notNull())
          .execute();
      });
    } catch (err) {
      fail('CATALOG', `cannot prepare the catalog at ${description}: ${reasonOf(err)}`, err);
    }

    const known = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
    const done = new Set((await appliedMigrations(db)).map((m) => m.version));
    const newest = Math.max(0, ...done);
    if (newest > known) {
      fail(
        'CATALOG',
        `the catalog at ${description} has schema version ${newest}, newer than this holdfast ` +
          `knows (${known}); upgrade holdfast`,
      );
    }

    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      try {
        const ran = await db.transaction().execute(async (trx) => {
          await lockForMigration(trx, dialect);
          const already = await trx
            .selectFrom('holdfast_migrations')
            .select('version')
            .where('version', '=', m.version)
            .executeTakeFirst();
          if (already !== undefined) return false; // another process applied it meanwhile
          await m.up(trx, dialect);
          await trx
            .insertInto('holdfast_migrations')
            .values({ version: m.version, name: m.name, applied_at: now().toISOString() })
            .execute();
          return true;
        });
        if (ran) applied.push(m.version);
      } catch (err) {
        fail(
          'CATALOG',
          `cannot migrate the catalog at ${description} to version ${m.version} (${m.name}): ${reasonOf(err)}`,
          err,
        );
      }
    }
    return applied;
  });
}

/** The migrations recorded in the catalog, oldest first. */
export async function appliedMigrations(db: Kysely<CatalogTables>): Promise<AppliedMigration[]> {
  const rows = await db.selectFrom('holdfast_migrations').selectAll().orderBy('version').execute();
  return rows.map((r) => ({ version: Number(r.version), name: r.name, appliedAt: r.applied_at }));
}
