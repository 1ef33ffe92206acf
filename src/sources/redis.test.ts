/**
 * The redis source against throwaway redis-server processes (own ports and directories, so
 * no other test is disturbed): every key and value of several databases (strings, hashes,
 * lists, sets, sorted sets) is equal after the RDB is restored and loaded by a fresh server;
 * the stored RDB is a clean file (no trailing EOF mark); failures write no snapshot.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Repository } from '../engine/repository.js';
import { listSnapshots } from '../engine/snapshots.js';
import { isHoldfastError } from '../errors.js';
import { resticBuffer } from '../testing/restic.js';
import { newTestRepo, REPO_PASSWORD, snapshotCount } from '../testing/sources.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { backupRedis, freePort, type RedisServer, restoreRedis, startRedisServer } from './redis.js';
import { readManifest } from './source-snapshot.js';

const SECRET = 'redis-Secret-77';

/** Every key of database `db` with its type and value, as JSON (sorted). */
const DUMP_SCRIPT = `
local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  local t = redis.call('TYPE', k).ok
  local v
  if t == 'string' then v = redis.call('GET', k)
  elseif t == 'hash' then v = redis.call('HGETALL', k)
  elseif t == 'list' then v = redis.call('LRANGE', k, 0, -1)
  elseif t == 'set' then v = redis.call('SMEMBERS', k); table.sort(v)
  elseif t == 'zset' then v = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES') end
  table.insert(out, {k, t, v, redis.call('TTL', k) > 0})
end
table.sort(out, function(a, b) return a[1] < b[1] end)
return cjson.encode(out)`;

function cli(port: number, args: string[], password?: string): string {
  const env = { ...process.env };
  delete env.REDISCLI_AUTH;
  if (password) env.REDISCLI_AUTH = password;
  return execFileSync('redis-cli', ['-p', String(port), ...args], { env, maxBuffer: 64 << 20 }).toString(
    'utf8',
  );
}

function contents(port: number, db: number, password?: string): unknown {
  const json = cli(port, ['-n', String(db), 'EVAL', DUMP_SCRIPT, '0'], password);
  // cjson encodes HGETALL's flat array; sort hash field pairs for a stable comparison.
  return (JSON.parse(json) as [string, string, unknown, boolean][]).map(([k, t, v, ttl]) => {
    if (t !== 'hash') return [k, t, v, ttl];
    const a = v as string[];
    const pairs: string[] = [];
    for (let i = 0; i < a.length; i += 2) pairs.push(`${a[i]}=${a[i + 1]}`);
    return [k, t, pairs.sort(), ttl];
  });
}

describe('redis source (throwaway servers)', () => {
  let tmp: string;
  let repoDir: string;
  let repo: Repository;
  let source: RedisServer;

  before(async () => {
    tmp = makeTempDir('redis-source');
    repoDir = path.join(tmp, 'repo');
    repo = await newTestRepo(repoDir);
    fs.mkdirSync(path.join(tmp, 'source'));
    source = await startRedisServer(path.join(tmp, 'source'), {
      extraArgs: ['--requirepass', SECRET, '--repl-diskless-sync-delay', '0'],
    });
    const p = source.port;
    const pipe = [
      'SET greeting "Grüße aus Köln 🎉"',
      'SET counter 42',
      'SET "key with spaces" "value\\nwith newline"',
      'SET session:1 token EX 3600',
      'HSET user:1 name "Zoë" city "東京" visits 7',
      'RPUSH queue a b c "d e" f',
      'SADD colours red green blue',
      'ZADD scores 1.5 alice 2 bob -3 carol',
    ];
    for (let i = 1; i <= 300; i++) pipe.push(`SET bulk:${i} ${'x'.repeat(i)}`);
    // About 2.4 MB of values that LZF barely shrinks: the RDB spans several read blocks.
    for (let i = 1; i <= 40; i++) pipe.push(`SET large:${i} ${randomBytes(30000).toString('hex')}`);
    execFileSync('redis-cli', ['-p', String(p)], {
      input: pipe.join('\n') + '\n',
      env: { ...process.env, REDISCLI_AUTH: SECRET },
    });
    cli(p, ['-n', '3', 'HSET', 'other:db', 'field', 'in database 3'], SECRET);
    cli(p, ['-n', '3', 'SADD', 'members', 'x', 'y'], SECRET);
  });
  after(async () => {
    await source?.stop();
    removeDir(tmp);
  });

  test('every key and value of every database is equal after restore and load into a fresh server', async () => {
    const r = await backupRedis(
      repo,
      { type: 'redis', url: `redis://:${SECRET}@127.0.0.1:${source.port}` },
      { hostname: 'h', asset: 'cache' },
    );
    assert.deepEqual(r.snapshot.tags, ['holdfast', 'source:redis', 'asset:cache']);
    assert.deepEqual(r.snapshot.paths, ['/holdfast-source.json', '/redis/dump.rdb']);
    const snap = (await listSnapshots(repo)).find((s) => s.id === r.snapshotId)!;
    const manifest = (await readManifest(repo, snap))!;
    assert.match(manifest.serverVersion!, /^\d+\.\d+/);
    assert.doesNotMatch(JSON.stringify(manifest), new RegExp(SECRET));
    // The stored file is a clean RDB: header, and the EOF opcode + checksum are its last 9 bytes.
    const rdb = resticBuffer(['dump', 'latest', '/redis/dump.rdb'], {
      repo: repoDir,
      password: REPO_PASSWORD,
    });
    assert.equal(rdb.subarray(0, 5).toString(), 'REDIS');
    assert.equal(rdb[rdb.length - 9], 0xff);
    assert.equal(rdb.length, manifest.files[0].size);

    const into = path.join(tmp, 'restored');
    const res = await restoreRedis(repo, snap, { into });
    assert.ok(res.notes.some((n) => /stop the server/.test(n)));
    const restored = await startRedisServer(into);
    try {
      const want0 = contents(source.port, 0, SECRET);
      assert.equal((want0 as unknown[]).length, 348);
      assert.deepEqual(contents(restored.port, 0), want0);
      assert.deepEqual(contents(restored.port, 3), contents(source.port, 3, SECRET));
    } finally {
      await restored.stop();
    }
  });

  test('a wrong password and a closed port: a clear error, no password in it, no snapshot', async () => {
    for (const [url, message] of [
      [
        `redis://:${SECRET}-wrong@127.0.0.1:${source.port}`,
        /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ .*(WRONGPASS|invalid username-password|NOAUTH)/,
      ],
      [
        `redis://:${SECRET}@127.0.0.1:${await freePort()}`,
        /cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: .*Connection refused/,
      ],
    ] as const) {
      const before = await snapshotCount(repoDir);
      let caught: unknown;
      await backupRedis(repo, { type: 'redis', url }, { hostname: 'h' }).catch((e: unknown) => (caught = e));
      assert.ok(isHoldfastError(caught, 'SOURCE_FAILED'), String(caught));
      assert.match(caught.message, message);
      assert.doesNotMatch(caught.message, new RegExp(SECRET));
      assert.equal(await snapshotCount(repoDir), before);
    }
  });
});
