/**
 * The `redis` source: an RDB snapshot taken over the replication protocol
 * (`redis-cli --rdb`) stored as /redis/dump.rdb, streamed when redis-cli can write it to
 * stdout (`--rdb -`, redis-cli 7+), through a private temporary file otherwise. Restore
 * writes dump.rdb into a directory; a Redis server loads an RDB only when it starts, so
 * loading it is: stop the server, copy dump.rdb into its `dir`, start it (see notes), or
 * `startRedisServer` on that directory for a throwaway server (drills, tests).
 */
import { spawn } from 'node:child_process';
import { createReadStream, promises as fsp } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { BackupResult } from '../engine/archiver.js';
import { isPoolBlock, releaseBlock } from '../engine/block-pool.js';
import type { Repository } from '../engine/repository.js';
import type { StoredSnapshot } from '../engine/snapshots.js';
import { fail, HoldfastError } from '../errors.js';
import { type CommandStream, commandStream } from './command.js';
import { childEnv, runCommand, withTempDir } from './process.js';
import { redactorFor, redactUrl } from './redact.js';
import {
  backupSourceStreams,
  readManifest,
  type SourceMeta,
  type SourceRestoreResult,
  writeSnapshotFile,
} from './source-snapshot.js';

/** `{ type: 'redis', url: 'redis://[user[:password]@]host:port' }` (rediss:// for TLS). */
export interface RedisSourceSpec {
  type: 'redis';
  url: string;
}

export interface RedisRestoreOptions {
  /** Directory that receives dump.rdb (created when missing). */
  into: string;
}

export const RDB_PATH = '/redis/dump.rdb';
/** redis-cli 7.0 writes the 40-byte EOF mark of a diskless transfer to stdout too. */
const EOF_MARK = 40;

interface RedisTarget {
  args: string[];
  env: Record<string, string | undefined>;
  redact: (text: string) => string;
  shown: string;
}

export function parseRedisUrl(url: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return fail('INVALID_ARGUMENT', `"${redactUrl(url)}" is not a Redis URL: use redis://host:port`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    fail('INVALID_ARGUMENT', `"${redactUrl(url)}" is not a Redis URL: use redis://host:port`);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const args = ['-h', u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', '-p', u.port || '6379'];
  if (u.protocol === 'rediss:') args.push('--tls');
  if (u.username && password !== undefined) args.push('--user', decodeURIComponent(u.username));
  return {
    args,
    env: password !== undefined ? { REDISCLI_AUTH: password } : {},
    redact: redactorFor(password, u.password || undefined),
    shown: redactUrl(url),
  };
}

/** Major version from `redis-cli --version` ("redis-cli 7.0.15" → 7). */
export function redisCliMajor(versionLine: string): number {
  const m = /(\d+)\.\d+/.exec(versionLine);
  return m ? Number(m[1]) : 0;
}

/** Passes the RDB through, holding back the last 40 bytes until redis-cli says how long it was. */
async function* trimmedRdb(c: CommandStream): AsyncGenerator<Buffer> {
  let held = Buffer.alloc(0);
  let emitted = 0;
  for await (const buf of c.stdout) {
    const all = held.length ? Buffer.concat([held, buf]) : buf;
    // A read block copied here is done with: back to the pool (one passed on as `all` is the engine's).
    if (all !== buf && isPoolBlock(buf)) releaseBlock(buf);
    if (all.length <= EOF_MARK) {
      held = Buffer.from(all);
      continue;
    }
    const out = all.subarray(0, all.length - EOF_MARK);
    held = Buffer.from(all.subarray(all.length - EOF_MARK));
    if (emitted === 0 && out.subarray(0, 5).toString('latin1') !== 'REDIS')
      fail('SOURCE_FAILED', 'redis-cli --rdb did not send an RDB file (no REDIS header)');
    emitted += out.length;
    yield out;
  }
  await c.finished();
  const m = /after (\d+) bytes/.exec(c.stderr());
  const want = m ? Number(m[1]) : emitted + held.length;
  if (want < emitted || want > emitted + held.length)
    fail('SOURCE_FAILED', `redis-cli --rdb reported ${want} bytes but sent ${emitted + held.length}`);
  if (want > emitted) yield held.subarray(0, want - emitted);
}

async function redisCli(t: RedisTarget, args: string[]): Promise<string> {
  const out = await runCommand('redis-cli', [...t.args, ...args], {
    extraEnv: t.env,
    redact: t.redact,
    label: `redis-cli on ${t.shown}`,
  }).catch((err: unknown) => {
    if (
      err instanceof HoldfastError &&
      /Could not connect|Connection refused|NOAUTH|WRONGPASS/.test(err.message)
    )
      fail('SOURCE_FAILED', `cannot connect to Redis at ${t.shown}: ${err.message.replace(/^.*?: /, '')}`);
    throw err;
  });
  if (/^(NOAUTH|WRONGPASS|ERR|NOPERM)/m.test(out) && !/redis_version/.test(out))
    fail('SOURCE_FAILED', `Redis at ${t.shown} refused: ${t.redact(out.trim().split('\n')[0])}`);
  return out;
}

/** Takes an RDB snapshot of the server at `spec.url` into one snapshot. */
export async function backupRedis(
  repo: Repository,
  spec: RedisSourceSpec,
  meta: SourceMeta,
): Promise<BackupResult> {
  const t = parseRedisUrl(spec.url);
  const info = await redisCli(t, ['INFO', 'server']);
  const serverVersion = /redis_version:(\S+)/.exec(info)?.[1];
  if (!serverVersion)
    fail('SOURCE_FAILED', `cannot connect to Redis at ${t.shown}: ${t.redact(info.trim().slice(0, 200))}`);
  const keyspace = (await redisCli(t, ['INFO', 'keyspace']))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^db\d+:/.test(l));
  const tool = (await runCommand('redis-cli', ['--version'])).trim();
  const env = childEnv(t.env);
  const label = `redis-cli --rdb on ${t.shown}`;
  const manifestInfo = () => ({ tool, serverVersion, details: { keyspace } });
  if (redisCliMajor(tool) >= 7) {
    let c: CommandStream | undefined;
    try {
      return await backupSourceStreams(
        repo,
        'redis',
        meta,
        [
          {
            path: RDB_PATH,
            role: 'rdb',
            open: () => {
              c = commandStream('redis-cli', [...t.args, '--rdb', '-'], env, { label, redact: t.redact });
              return trimmedRdb(c);
            },
            beforeCommit: () => c!.finished(),
          },
        ],
        manifestInfo,
      );
    } finally {
      c?.kill();
    }
  }
  // Older redis-cli writes only to a file: a private temporary one, streamed and removed.
  return withTempDir('redis-rdb', async (dir) => {
    const file = path.join(dir, 'dump.rdb');
    await runCommand('redis-cli', [...t.args, '--rdb', file], { extraEnv: t.env, redact: t.redact, label });
    return backupSourceStreams(
      repo,
      'redis',
      meta,
      [{ path: RDB_PATH, role: 'rdb', open: () => createReadStream(file) }],
      manifestInfo,
    );
  });
}

/** Writes dump.rdb into `opts.into`; the notes say how to load it into a server. */
export async function restoreRedis(
  repo: Repository,
  snap: StoredSnapshot,
  opts: RedisRestoreOptions,
): Promise<SourceRestoreResult> {
  const manifest = await readManifest(repo, snap);
  if (manifest?.type !== 'redis')
    fail('INVALID_ARGUMENT', `snapshot ${snap.id.slice(0, 8)} is not a redis backup`);
  await fsp.mkdir(opts.into, { recursive: true, mode: 0o700 });
  const file = path.join(opts.into, 'dump.rdb');
  await writeSnapshotFile(repo, snap, RDB_PATH, file);
  return {
    type: 'redis',
    restored: [`${RDB_PATH} -> ${file}`],
    notes: [
      'Redis loads an RDB file only when it starts. To load it into a server:',
      '1. stop the server (redis-cli SHUTDOWN NOSAVE, or systemctl stop redis-server);',
      `2. copy ${file} to the server's directory as its dbfilename (redis-cli CONFIG GET dir / dbfilename), owned by the redis user;`,
      '3. make sure appendonly is off for this start (an AOF would be loaded instead), then start the server.',
      `To inspect it first: redis-server --port 6390 --dir ${opts.into} --dbfilename dump.rdb --save ''`,
    ],
  };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway `redis-server` on 127.0.0.1 that loads `dir/dump.rdb` (when present) and
 * never writes back (no save, no AOF); resolves once it accepts connections. `extraArgs` are
 * more server options (e.g. ['--requirepass', pw]).
 */
export async function startRedisServer(
  dir: string,
  opts: { port?: number; extraArgs?: string[] } = {},
): Promise<RedisServer> {
  const p = opts.port ?? (await freePort());
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(p),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--dbfilename',
      'dump.rdb',
      '--save',
      '',
      '--appendonly',
      'no',
      ...(opts.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const keep = (d: Buffer) => (log = (log + d.toString('utf8')).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.on('close', () => resolve());
    child.on('error', (err) => {
      keep(Buffer.from(err.message));
      resolve();
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 20_000;
  while (!/Ready to accept connections/.test(log)) {
    const dead = child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
    if (dead || Date.now() > deadline) {
      await stop();
      fail(
        'SOURCE_FAILED',
        `redis-server on port ${p} did not start: ${log.trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { port: p, url: `redis://127.0.0.1:${p}`, stop };
}
