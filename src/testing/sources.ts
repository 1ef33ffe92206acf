/**
 * Test helpers for sources: a fresh repository opened through the engine, random names for
 * databases, running SQL on the local PostgreSQL and MariaDB servers, and a private
 * PostgreSQL cluster (password authentication, a free port) for tests that must not see or
 * disturb other databases.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { localBackend } from '../backends/local.js';
import { initRepository, type Repository } from '../engine/repository.js';
import { listSnapshots } from '../engine/snapshots.js';
import { freePort } from '../sources/redis.js';
import { CHEAP_KDF, openTestRepo } from './repo.js';
import { makeTempDir, removeDir } from './tmp.js';

export const REPO_PASSWORD = 'source test password';

export async function newTestRepo(dir: string): Promise<Repository> {
  await initRepository(localBackend(dir), Buffer.from(REPO_PASSWORD), { scrypt: CHEAP_KDF });
  const repo = await openTestRepo(dir, REPO_PASSWORD);
  await repo.loadIndex();
  return repo;
}

export async function snapshotCount(dir: string): Promise<number> {
  const repo = await openTestRepo(dir, REPO_PASSWORD);
  return (await listSnapshots(repo)).length;
}

/** A lowercase name unique to this run, e.g. "hf_src_3f9a0c2b1d". */
export function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export interface PgServer {
  port: number;
  /** Connection URL for `db` (with the password when there is one). */
  url(db: string, password?: string): string;
}

export const SHARED_PG: PgServer = {
  port: 5432,
  url: (db, password) => `postgres://postgres${password ? `:${password}` : ''}@127.0.0.1:5432/${db}`,
};

/** Runs SQL with psql and returns its unaligned, tuples-only output. */
export function psql(server: PgServer, db: string, sql: string, password?: string): string {
  return execFileSync(
    'psql',
    [
      '-X',
      '-q',
      '-A',
      '-t',
      '-w',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      '127.0.0.1',
      '-p',
      String(server.port),
      '-U',
      'postgres',
      '-d',
      db,
      '-f',
      '-',
    ],
    { input: sql, env: { ...process.env, PGPASSWORD: password ?? '' }, stdio: ['pipe', 'pipe', 'pipe'] },
  ).toString('utf8');
}

/** Runs SQL on the local MariaDB as root. */
export function mariadb(db: string | undefined, sql: string): string {
  const args = ['-h', '127.0.0.1', '--protocol=TCP', '-uroot', '-N', '-B', '--default-character-set=utf8mb4'];
  if (db) args.push(db);
  return execFileSync('mariadb', args, { input: sql, stdio: ['pipe', 'pipe', 'pipe'] }).toString('utf8');
}

export interface PgCluster extends PgServer {
  password: string;
  stop(): void;
}

function pgBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('initdb not found under /usr/lib/postgresql');
  return path.join(root, versions[0], 'bin');
}

/** initdb + pg_ctl start on a free port; TCP needs the password (scram-sha-256). */
export async function startPgCluster(): Promise<PgCluster> {
  const dir = makeTempDir('pgcluster');
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const port = await freePort();
  const bin = pgBinDir();
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : cmd, asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  fs.writeFileSync(path.join(dir, 'pwfile'), password + '\n');
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  run(path.join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth-host=scram-sha-256',
    '--auth-local=trust',
    `--pwfile=${path.join(dir, 'pwfile')}`,
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  run(path.join(bin, 'pg_ctl'), [
    '-D',
    data,
    '-w',
    '-l',
    path.join(dir, 'log'),
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    'start',
  ]);
  return {
    port,
    password,
    url: (db, pw) => `postgres://postgres${pw ? `:${encodeURIComponent(pw)}` : ''}@127.0.0.1:${port}/${db}`,
    stop: () => {
      try {
        run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
      } finally {
        removeDir(dir);
      }
    },
  };
}
