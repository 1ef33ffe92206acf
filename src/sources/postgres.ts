/**
 * The `postgres` source (logical): `pg_dump -Fc -Z0` of each database streamed straight into
 * the repository as /postgres/<db>.dump (no temporary file), roles and tablespaces from
 * `pg_dumpall --globals-only` as /postgres/globals.sql; restore into a named database
 * (created when missing) with `pg_restore --no-owner -j 2`. The password travels in
 * PGPASSWORD only; messages show the URL with its password masked.
 */
import * as path from 'node:path';
import type { BackupResult } from '../engine/archiver.js';
import type { Repository } from '../engine/repository.js';
import type { StoredSnapshot } from '../engine/snapshots.js';
import { fail, isHoldfastError } from '../errors.js';
import { type CommandStream, commandStream } from './command.js';
import { childEnv, runCommand, withTempDir } from './process.js';
import { redactorFor, redactUrl } from './redact.js';
import {
  backupSourceStreams,
  chooseDumps,
  snapshotFile,
  type SourceMeta,
  type SourceRestoreResult,
  type SourceStream,
  writeSnapshotFile,
} from './source-snapshot.js';

/** `{ type: 'postgres', url, databases?, all?, globals? }` as in the policy file. */
export interface PostgresSourceSpec {
  type: 'postgres';
  /** postgres://user[:password]@host[:port]/db[?params] */
  url: string;
  /** Databases to dump; default: the one in the URL; ['*'] means every non-template database. */
  databases?: string[];
  /** Same as databases: ['*']. */
  all?: boolean;
  /** Also dump roles and tablespaces (pg_dumpall --globals-only) as globals.sql; default true. */
  globals?: boolean;
}

export interface PostgresRestoreOptions {
  /** Server to restore into: postgres://user[:password]@host[:port][/db]. */
  into: string;
  /** Database of the snapshot to restore (default: every one it holds). */
  database?: string;
  /**
   * Target database name when one database is restored (default: the database in `into`,
   * else the source name). Several databases are each restored under their own name.
   */
  target?: string;
  /** Run globals.sql (roles, tablespaces) first; default false. */
  globals?: boolean;
  /** pg_restore parallel jobs; default 2. */
  jobs?: number;
}

interface PgTarget {
  /** URL without password. */
  base: URL;
  password?: string;
  database?: string;
  env: Record<string, string | undefined>;
  redact: (text: string) => string;
  shown: string;
}

export function parsePostgresUrl(url: string): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return fail(
      'INVALID_ARGUMENT',
      `"${redactUrl(url)}" is not a PostgreSQL URL: use postgres://user@host:port/db`,
    );
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    fail('INVALID_ARGUMENT', `"${redactUrl(url)}" is not a PostgreSQL URL: use postgres://user@host:port/db`);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const rawPassword = u.password || undefined;
  u.password = '';
  const database = u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined;
  return {
    base: u,
    password,
    database,
    env: password !== undefined ? { PGPASSWORD: password } : {},
    redact: redactorFor(password, rawPassword),
    shown: redactUrl(url),
  };
}

/** Connection string (no password) for database `db` on the server of `t`. */
function connString(t: PgTarget, db: string): string {
  const u = new URL(t.base.toString());
  u.pathname = '/' + encodeURIComponent(db);
  return u.toString();
}

/** File name of a database's dump: the name with "%" and "/" escaped, plus ".dump". */
export function dumpFileName(db: string): string {
  return db.replace(/%/g, '%25').replace(/\//g, '%2F') + '.dump';
}

/** Major version of a server_version_num (150020 → 15, 90624 → 9). */
export function serverMajor(versionNum: number): number {
  return Math.floor(versionNum / 10000);
}

/** Major version from `pg_dump --version` output ("pg_dump (PostgreSQL) 15.20 (Debian…)" → 15). */
export function toolMajor(versionLine: string): number {
  const m = /\)\s+(\d+)(?:\.(\d+))?/.exec(versionLine) ?? /(\d+)(?:\.(\d+))?/.exec(versionLine);
  if (!m) return fail('SOURCE_FAILED', `cannot read the version from "${versionLine.trim()}"`);
  return Number(m[1]); // 9.6 → 9, like serverMajor
}

/** Fails when the client tool is older than the server: pg_dump refuses such servers. */
export function checkToolVersion(tool: string, versionLine: string, serverVersionNum: number): void {
  const t = toolMajor(versionLine);
  const s = serverMajor(serverVersionNum);
  if (t < s)
    fail(
      'SOURCE_FAILED',
      `${tool} ${t} is older than the PostgreSQL ${s} server: install the PostgreSQL ${s} client tools ` +
        `(e.g. apt-get install postgresql-client-${s}) and put them first on PATH`,
    );
}

async function psql(
  t: PgTarget,
  db: string,
  sql: string,
  vars: Record<string, string> = {},
): Promise<string> {
  const args = ['-X', '-w', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', `--dbname=${connString(t, db)}`];
  for (const [k, v] of Object.entries(vars)) args.push('-v', `${k}=${v}`);
  try {
    return await runCommand('psql', [...args, '-f', '-'], {
      extraEnv: t.env,
      redact: t.redact,
      label: `psql on ${t.shown}`,
      input: [Buffer.from(sql)],
    });
  } catch (err) {
    if (
      isHoldfastError(err, 'SOURCE_FAILED') &&
      /connection to server|could not connect|FATAL/.test(err.message)
    )
      fail(
        'SOURCE_FAILED',
        `cannot connect to PostgreSQL at ${t.shown}: ${err.message.replace(/^.*?psql: error: /, '')}`,
      );
    throw err;
  }
}

async function toolVersion(tool: string): Promise<string> {
  return (await runCommand(tool, ['--version'])).trim();
}

/** Server version, checked against the client tools, and the databases to dump. */
async function inspect(t: PgTarget, spec: PostgresSourceSpec) {
  const all = spec.all === true || (spec.databases?.length === 1 && spec.databases[0] === '*');
  const connectDb = t.database ?? 'postgres';
  const [num, text] = (
    await psql(
      t,
      connectDb,
      `SELECT current_setting('server_version_num') || '|' || current_setting('server_version');`,
    )
  )
    .trim()
    .split('|');
  const pgDump = await toolVersion('pg_dump');
  checkToolVersion('pg_dump', pgDump, Number(num));
  if (spec.globals !== false) checkToolVersion('pg_dumpall', await toolVersion('pg_dumpall'), Number(num));
  let databases: string[];
  if (all) {
    databases = (
      await psql(
        t,
        connectDb,
        'SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY 1;',
      )
    )
      .split('\n')
      .filter(Boolean);
  } else if (spec.databases?.length) databases = [...new Set(spec.databases)];
  else if (t.database) databases = [t.database];
  else
    return fail(
      'INVALID_ARGUMENT',
      `no database to back up: put it in the URL (${t.shown}/DB), list databases, or use databases: ['*']`,
    );
  return { serverVersion: text, serverVersionNum: Number(num), tool: pgDump, databases };
}

/** Dumps the databases (and globals) of `spec` into one snapshot. */
export async function backupPostgres(
  repo: Repository,
  spec: PostgresSourceSpec,
  meta: SourceMeta,
): Promise<BackupResult> {
  const t = parsePostgresUrl(spec.url);
  const info = await inspect(t, spec);
  const env = childEnv(t.env);
  const running: CommandStream[] = [];
  const dump = (cmd: string, args: string[], label: string) => {
    const c = commandStream(cmd, args, env, { label, redact: t.redact });
    running.push(c);
    return c;
  };
  const streams: SourceStream[] = [];
  if (spec.globals !== false) {
    let c: CommandStream;
    streams.push({
      path: '/postgres/globals.sql',
      role: 'globals',
      open: () =>
        (c = dump(
          'pg_dumpall',
          ['--globals-only', '-w', `--dbname=${connString(t, t.database ?? 'postgres')}`],
          `pg_dumpall --globals-only on ${t.shown}`,
        )).stdout,
      beforeCommit: () => c.finished(),
    });
  }
  for (const db of info.databases) {
    let c: CommandStream;
    streams.push({
      path: `/postgres/${dumpFileName(db)}`,
      role: 'database',
      database: db,
      open: () =>
        (c = dump(
          'pg_dump',
          // -Z0: the repository compresses (zstd) and deduplicates. pg_dump's own gzip would
          // cost more CPU than the whole rest of the backup and hide every unchanged part
          // after the first change from deduplication (bench/RESULTS.md).
          ['-Fc', '-Z0', '-w', `--dbname=${connString(t, db)}`],
          `pg_dump of database "${db}" on ${t.shown}`,
        )).stdout,
      beforeCommit: () => c.finished(),
    });
  }
  try {
    return await backupSourceStreams(repo, 'postgres', meta, streams, () => ({
      tool: info.tool,
      serverVersion: info.serverVersion,
      databases: info.databases,
    }));
  } finally {
    for (const c of running) c.kill();
  }
}

/** Creates `db` when missing; fails when it exists and already holds tables. */
async function prepareTarget(t: PgTarget, maintenanceDb: string, db: string): Promise<void> {
  await psql(
    t,
    maintenanceDb,
    `SELECT format('CREATE DATABASE %I', :'name') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name')\\gexec\n`,
    { name: db },
  );
  const used = await psql(
    t,
    db,
    `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%';`,
  );
  if (Number(used.trim()) > 0)
    fail(
      'INVALID_ARGUMENT',
      `target database "${db}" is not empty: restore into a new database name or drop it first`,
    );
}

/** Restores database dump(s) of a postgres snapshot into the server `opts.into`. */
export async function restorePostgres(
  repo: Repository,
  snap: StoredSnapshot,
  opts: PostgresRestoreOptions,
): Promise<SourceRestoreResult> {
  const t = parsePostgresUrl(opts.into);
  const { manifest, chosen } = await chooseDumps(repo, snap, 'postgres', opts);
  const maintenanceDb = 'postgres';
  const restored: string[] = [];
  const globals = manifest.files.find((f) => f.role === 'globals');
  if (opts.globals && globals) {
    await runCommand('psql', ['-X', '-w', '-q', `--dbname=${connString(t, maintenanceDb)}`, '-f', '-'], {
      extraEnv: t.env,
      redact: t.redact,
      label: `psql (globals) on ${t.shown}`,
      input: await snapshotFile(repo, snap, globals.path),
    });
    restored.push(`${globals.path} -> roles and tablespaces of ${t.shown}`);
  }
  const jobs = Math.max(1, opts.jobs ?? 2);
  for (const f of chosen) {
    const target = chosen.length === 1 ? (opts.target ?? t.database ?? f.database!) : f.database!;
    await prepareTarget(t, maintenanceDb, target);
    const args = ['--no-owner', '-w', `--dbname=${connString(t, target)}`];
    const label = `pg_restore into database "${target}" on ${t.shown}`;
    if (jobs > 1) {
      // Parallel restore needs a seekable file.
      await withTempDir('pg-restore', async (dir) => {
        const file = path.join(dir, 'db.dump');
        await writeSnapshotFile(repo, snap, f.path, file);
        await runCommand('pg_restore', [...args, '-j', String(jobs), file], {
          extraEnv: t.env,
          redact: t.redact,
          label,
        });
      });
    } else {
      await runCommand('pg_restore', args, {
        extraEnv: t.env,
        redact: t.redact,
        label,
        input: await snapshotFile(repo, snap, f.path),
      });
    }
    restored.push(`${f.path} -> database "${target}" on ${t.shown}`);
  }
  return { type: 'postgres', restored, notes: [] };
}
