/**
 * Opens the database behind a catalog URL as a kysely instance: better-sqlite3 for
 * `sqlite:PATH` (parent directory created, WAL, busy timeout) and a pg pool for
 * `postgres://…`. Connection failures become one clear `CATALOG` error that names the
 * catalog without its password. Everything above this file is dialect-free.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { HoldfastError, fail } from '../errors.js';
import { redactSecrets } from './redact.js';
import type { CatalogTables } from './schema.js';
import { describeCatalogUrl, parseCatalogUrl, type CatalogDialect } from './url.js';

/** How long a SQLite statement waits for another process's write lock before failing. */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;
/** How long opening a PostgreSQL connection may take before the catalog gives up. */
export const POSTGRES_CONNECT_TIMEOUT_MS = 10_000;

export interface CatalogConnection {
  readonly db: Kysely<CatalogTables>;
  readonly dialect: CatalogDialect;
  /** The catalog URL with any password masked: safe for messages. */
  readonly description: string;
  /**
   * For a SQLite file, its absolute path: opens within one process are serialized on it,
   * because better-sqlite3 waits for a lock synchronously and two connections of one
   * process would otherwise wait on each other. Undefined for PostgreSQL and `:memory:`.
   */
  readonly localLockKey: string | undefined;
}

/** Opens the database and checks that it answers; the caller owns `db` (destroy it). */
export async function connectCatalog(url: string): Promise<CatalogConnection> {
  const location = parseCatalogUrl(url);
  const description = describeCatalogUrl(url);
  if (location.dialect === 'sqlite') {
    const localLockKey = location.path === ':memory:' ? undefined : path.resolve(location.path);
    return { db: openSqlite(location.path, description), dialect: 'sqlite', description, localLockKey };
  }
  const pool = new pg.Pool({
    connectionString: location.connectionString,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    max: 4,
  });
  // An idle client whose server went away emits 'error' on the pool; without a listener
  // that would crash the process. The next query reports the problem instead.
  pool.on('error', () => undefined);
  const db = new Kysely<CatalogTables>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    fail(
      'CATALOG',
      `cannot connect to the catalog at ${description}: ${reasonOf(err)}; ` +
        'check that PostgreSQL is running and that the host, port, user and database in the URL are right',
      err,
    );
  }
  return { db, dialect: 'postgres', description, localLockKey: undefined };
}

function openSqlite(file: string, description: string): Kysely<CatalogTables> {
  const inMemory = file === ':memory:';
  let database: Database.Database;
  try {
    if (!inMemory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    database = new Database(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  } catch (err) {
    fail('CATALOG', `cannot open the catalog at ${description}: ${reasonOf(err)}`, err);
  }
  try {
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    if (!inMemory) database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
    // Reading the schema fails early on a file that is not a SQLite database.
    database.prepare('select count(*) from sqlite_master').get();
  } catch (err) {
    database.close();
    fail('CATALOG', `cannot open the catalog at ${description}: ${reasonOf(err)}`, err);
  }
  return new Kysely<CatalogTables>({ dialect: new SqliteDialect({ database }) });
}

/** A one-line, secret-free reason from a driver error. */
export function reasonOf(err: unknown): string {
  if (err instanceof HoldfastError) return err.message;
  if (err instanceof Error) {
    // Node's connect() to a name with several addresses throws an AggregateError with an
    // empty message; its code (ECONNREFUSED, …) or first inner error says what happened.
    let text = err.message;
    if (text === '' && err instanceof AggregateError && err.errors[0] instanceof Error) {
      text = err.errors[0].message;
    }
    const code = (err as { code?: unknown }).code;
    if (text === '' && typeof code === 'string') text = code;
    return redactSecrets(text.split('\n')[0] ?? '') || 'unknown error';
  }
  return redactSecrets(String(err));
}
