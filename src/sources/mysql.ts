/**
 * The `mysql` source (MySQL and MariaDB, logical): `mariadb-dump` (or `mysqldump`)
 * `--single-transaction --routines --events --triggers` of each database streamed as
 * /mysql/<db>.sql; restore into a target database (created when missing) by piping the dump
 * into `mariadb` (or `mysql`). The password travels in MYSQL_PWD only.
 */
import type { BackupResult } from '../engine/archiver.js';
import type { Repository } from '../engine/repository.js';
import type { StoredSnapshot } from '../engine/snapshots.js';
import { fail, isHoldfastError } from '../errors.js';
import { type CommandStream, commandStream } from './command.js';
import { childEnv, runCommand } from './process.js';
import { redactorFor, redactUrl } from './redact.js';
import {
  backupSourceStreams,
  chooseDumps,
  snapshotFile,
  type SourceMeta,
  type SourceRestoreResult,
  type SourceStream,
} from './source-snapshot.js';

/** `{ type: 'mysql', url: 'mysql://user:pass@host:port/db', databases? }`. */
export interface MysqlSourceSpec {
  type: 'mysql';
  url: string;
  /** Databases to dump; default: the one in the URL; ['*'] means every non-system database. */
  databases?: string[];
}

export interface MysqlRestoreOptions {
  /** Server to restore into: mysql://user[:password]@host[:port][/db]. */
  into: string;
  /** Database of the snapshot to restore (default: every one it holds). */
  database?: string;
  /** Target name when one database is restored (default: the URL's database, else the source name). */
  target?: string;
}

const SYSTEM_DATABASES = new Set(['information_schema', 'performance_schema', 'sys', 'mysql']);

interface MyTarget {
  args: string[];
  database?: string;
  env: Record<string, string | undefined>;
  redact: (text: string) => string;
  shown: string;
}

export function parseMysqlUrl(url: string): MyTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return fail('INVALID_ARGUMENT', `"${redactUrl(url)}" is not a MySQL URL: use mysql://user@host:port/db`);
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:')
    fail('INVALID_ARGUMENT', `"${redactUrl(url)}" is not a MySQL URL: use mysql://user@host:port/db`);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const args: string[] = [];
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (host) args.push(`--host=${host}`);
  if (host && host !== 'localhost') args.push('--protocol=TCP');
  if (u.port) args.push(`--port=${u.port}`);
  if (u.username) args.push(`--user=${decodeURIComponent(u.username)}`);
  return {
    args,
    database: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined,
    env: password !== undefined ? { MYSQL_PWD: password } : {},
    redact: redactorFor(password, u.password || undefined),
    shown: redactUrl(url),
  };
}

export function sqlIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

export function sqlString(s: string): string {
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "''") + "'";
}

/** The first of `names` that is installed (answers --version). */
async function pickTool(names: string[]): Promise<{ name: string; version: string }> {
  for (const name of names) {
    try {
      return { name, version: (await runCommand(name, ['--version'])).trim() };
    } catch (err) {
      if (!(isHoldfastError(err) && /not installed/.test(err.message))) throw err;
    }
  }
  return fail(
    'SOURCE_FAILED',
    `none of ${names.join(', ')} is installed: install the MariaDB or MySQL client`,
  );
}

async function sql(t: MyTarget, client: string, statement: string): Promise<string> {
  try {
    return await runCommand(client, [...t.args, '--default-character-set=utf8mb4', '-N', '-B'], {
      extraEnv: t.env,
      redact: t.redact,
      label: `${client} on ${t.shown}`,
      input: [Buffer.from(statement)],
    });
  } catch (err) {
    if (
      isHoldfastError(err, 'SOURCE_FAILED') &&
      /ERROR (1045|2002|2003|2005|2013|1044|1049)/.test(err.message)
    )
      fail(
        'SOURCE_FAILED',
        `cannot connect to MySQL at ${t.shown}: ${err.message.replace(/^.*?: ERROR/, 'ERROR')}`,
      );
    throw err;
  }
}

/** Dumps the databases of `spec` into one snapshot. */
export async function backupMysql(
  repo: Repository,
  spec: MysqlSourceSpec,
  meta: SourceMeta,
): Promise<BackupResult> {
  const t = parseMysqlUrl(spec.url);
  const dumper = await pickTool(['mariadb-dump', 'mysqldump']);
  const client = await pickTool(['mariadb', 'mysql']);
  const serverVersion = (await sql(t, client.name, 'SELECT VERSION();')).trim();
  let databases: string[];
  if (spec.databases?.length === 1 && spec.databases[0] === '*') {
    databases = (await sql(t, client.name, 'SHOW DATABASES;'))
      .split('\n')
      .filter((d) => d && !SYSTEM_DATABASES.has(d));
  } else if (spec.databases?.length) databases = [...new Set(spec.databases)];
  else if (t.database) databases = [t.database];
  else
    return fail(
      'INVALID_ARGUMENT',
      `no database to back up: put it in the URL (${t.shown}/DB), list databases, or use databases: ['*']`,
    );
  const env = childEnv(t.env);
  const running: CommandStream[] = [];
  const streams: SourceStream[] = databases.map((db) => {
    let c: CommandStream;
    return {
      path: `/mysql/${db.replace(/%/g, '%25').replace(/\//g, '%2F')}.sql`,
      role: 'database',
      database: db,
      open: () => {
        const args = [
          ...t.args,
          '--single-transaction',
          '--routines',
          '--events',
          '--triggers',
          '--hex-blob',
          '--default-character-set=utf8mb4',
          db,
        ];
        c = commandStream(dumper.name, args, env, {
          label: `${dumper.name} of database "${db}" on ${t.shown}`,
          redact: t.redact,
        });
        running.push(c);
        return c.stdout;
      },
      beforeCommit: () => c.finished(),
    };
  });
  try {
    return await backupSourceStreams(repo, 'mysql', meta, streams, () => ({
      tool: dumper.version,
      serverVersion,
      databases,
    }));
  } finally {
    for (const c of running) c.kill();
  }
}

/** Restores database dump(s) of a mysql snapshot into the server `opts.into`. */
export async function restoreMysql(
  repo: Repository,
  snap: StoredSnapshot,
  opts: MysqlRestoreOptions,
): Promise<SourceRestoreResult> {
  const t = parseMysqlUrl(opts.into);
  const { chosen } = await chooseDumps(repo, snap, 'mysql', opts);
  const client = await pickTool(['mariadb', 'mysql']);
  const restored: string[] = [];
  for (const f of chosen) {
    const target = chosen.length === 1 ? (opts.target ?? t.database ?? f.database!) : f.database!;
    const used = await sql(
      t,
      client.name,
      `CREATE DATABASE IF NOT EXISTS ${sqlIdent(target)} CHARACTER SET utf8mb4;
       SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ${sqlString(target)};`,
    );
    if (Number(used.trim()) > 0)
      fail(
        'INVALID_ARGUMENT',
        `target database "${target}" is not empty: restore into a new database name or drop it first`,
      );
    await runCommand(client.name, [...t.args, '--default-character-set=utf8mb4', `--database=${target}`], {
      extraEnv: t.env,
      redact: t.redact,
      label: `${client.name} restoring into database "${target}" on ${t.shown}`,
      input: await snapshotFile(repo, snap, f.path),
    });
    restored.push(`${f.path} -> database "${target}" on ${t.shown}`);
  }
  return { type: 'mysql', restored, notes: [] };
}
