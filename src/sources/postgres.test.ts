/**
 * The postgres source against real servers: a database with tables, indexes, sequences, a
 * view, a role and non-ASCII data round-trips (an md5 over the ordered rows of every table,
 * the sequences and the index definitions are equal); `restic dump` gives back exactly what
 * pg_dump produced and pg_restore takes it by hand; a change in the middle of a table stores
 * little new data (the dump is not compressed by pg_dump, so it deduplicates); all-databases mode on a private cluster
 * with password authentication; every failure leaves no snapshot and no password in the message.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { listSnapshots } from '../engine/snapshots.js';
import type { Repository } from '../engine/repository.js';
import { isHoldfastError } from '../errors.js';
import { resticBuffer } from '../testing/restic.js';
import {
  newTestRepo,
  type PgCluster,
  psql,
  type PgServer,
  randomName,
  REPO_PASSWORD,
  SHARED_PG,
  snapshotCount,
  startPgCluster,
} from '../testing/sources.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { backupPostgres, checkToolVersion, restorePostgres } from './postgres.js';
import { freePort } from './redis.js';
import { readManifest } from './source-snapshot.js';

const SECRET = 'not-a-real-secret-4711';

function schemaSql(role: string): string {
  return `
CREATE SCHEMA inventory;
CREATE SEQUENCE invoice_seq START 1000;
SELECT nextval('invoice_seq') FROM generate_series(1, 7);
CREATE TABLE customers (
  id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE, city text,
  created timestamptz NOT NULL DEFAULT '2024-01-01 00:00:00+00');
CREATE INDEX customers_lower_name ON customers (lower(name));
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id int NOT NULL REFERENCES customers (id), amount numeric(10,2), note text,
  invoice int NOT NULL DEFAULT nextval('invoice_seq'));
CREATE INDEX orders_customer ON orders (customer_id, amount DESC);
CREATE TABLE inventory.items (sku text PRIMARY KEY, attrs jsonb, tags text[], photo bytea);
CREATE INDEX items_attrs ON inventory.items USING gin (attrs);
INSERT INTO customers (name, email, city) VALUES
  ('Zoë Ångström', 'zoe@example.org', 'Malmö'), ('山田太郎', 'taro@example.jp', '東京'),
  ('Łukasz Żółć', 'lukasz@example.pl', 'Łódź'), ('Emoji 🎉 Fan', 'party@example.com', 'Zürich');
INSERT INTO customers (name, email, city)
  SELECT 'customer ' || g, 'c' || g || '@example.com', CASE WHEN g % 3 = 0 THEN 'Köln' ELSE 'Oslo' END
  FROM generate_series(1, 2000) g;
INSERT INTO orders (customer_id, amount, note)
  SELECT 1 + g % 2004, (g * 7 % 100000) / 100.0, CASE WHEN g % 5 = 0 THEN 'naïve café ☕' END
  FROM generate_series(1, 5000) g;
INSERT INTO inventory.items VALUES
  ('A-1', '{"colour": "grün", "size": [1, 2]}', '{a,b}', '\\x00ff10'),
  ('B-2', '{"colour": "rouge"}', '{}', NULL);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 500;
GRANT SELECT ON customers TO ${role};
`;
}

/** md5 over the ordered rows of every table, plus sequences and index definitions. */
function fingerprint(server: PgServer, db: string, password?: string): Record<string, string> {
  const tables = psql(
    server,
    db,
    `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
     WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1;`,
    password,
  )
    .split('\n')
    .filter(Boolean);
  const out: Record<string, string> = {};
  for (const t of tables)
    out[t] = psql(
      server,
      db,
      `SELECT md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) || ' ' || count(*) FROM ${t} r;`,
      password,
    ).trim();
  out.sequences = psql(
    server,
    db,
    `SELECT string_agg(schemaname || '.' || sequencename || '=' || coalesce(last_value::text, '-'), ',' ORDER BY 1) FROM pg_sequences;`,
    password,
  ).trim();
  out.indexes = psql(
    server,
    db,
    `SELECT md5(string_agg(indexdef, E'\\n' ORDER BY indexname)) FROM pg_indexes
     WHERE schemaname NOT IN ('pg_catalog', 'information_schema');`,
    password,
  ).trim();
  out.views = psql(
    server,
    db,
    `SELECT string_agg(viewname, ',' ORDER BY 1) FROM pg_views WHERE schemaname = 'public';`,
    password,
  ).trim();
  return out;
}

async function expectFailure(repoDir: string, run: () => Promise<unknown>, message: RegExp): Promise<string> {
  const before = await snapshotCount(repoDir);
  const caught = await run().then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(isHoldfastError(caught, 'SOURCE_FAILED'), `expected SOURCE_FAILED, got ${String(caught)}`);
  assert.match(caught.message, message);
  assert.doesNotMatch(caught.message, new RegExp(SECRET));
  assert.equal(await snapshotCount(repoDir), before, 'no snapshot may be written');
  return caught.message;
}

describe('postgres source (local server)', () => {
  let tmp: string;
  let repoDir: string;
  let repo: Repository;
  const src = randomName('hf_src');
  const role = randomName('hf_role');
  const made: string[] = [src];

  before(async () => {
    tmp = makeTempDir('pg-source');
    repoDir = path.join(tmp, 'repo');
    repo = await newTestRepo(repoDir);
    psql(SHARED_PG, 'postgres', `CREATE ROLE ${role}; CREATE DATABASE ${src};`);
    psql(SHARED_PG, src, schemaSql(role));
  });
  after(() => {
    for (const db of made) psql(SHARED_PG, 'postgres', `DROP DATABASE IF EXISTS ${db} WITH (FORCE);`);
    psql(SHARED_PG, 'postgres', `DROP ROLE IF EXISTS ${role};`);
    removeDir(tmp);
  });

  test('a database round-trips into a new database: every table, sequence, index and grant equal', async () => {
    const r = await backupPostgres(
      repo,
      { type: 'postgres', url: SHARED_PG.url(src, SECRET) },
      { hostname: 'pg-test', asset: 'service-db', tags: ['nightly'] },
    );
    assert.deepEqual(r.snapshot.tags, ['holdfast', 'source:postgres', 'asset:service-db', 'nightly']);
    assert.deepEqual(r.snapshot.paths, [
      '/holdfast-source.json',
      '/postgres/globals.sql',
      `/postgres/${src}.dump`,
    ]);
    const snap = (await listSnapshots(repo)).find((s) => s.id === r.snapshotId)!;
    const manifest = (await readManifest(repo, snap))!;
    assert.equal(manifest.type, 'postgres');
    assert.equal(manifest.asset, 'service-db');
    assert.deepEqual(manifest.databases, [src]);
    assert.match(manifest.serverVersion!, /^\d+\.\d+/);
    assert.match(manifest.tool!, /^pg_dump \(PostgreSQL\) \d+/);
    assert.ok(manifest.files.every((f) => f.size > 0 && /^[0-9a-f]{64}$/.test(f.sha256)));
    const manifestText = resticBuffer(['dump', 'latest', '/holdfast-source.json'], {
      repo: repoDir,
      password: REPO_PASSWORD,
    }).toString();
    assert.doesNotMatch(manifestText, new RegExp(`${SECRET}|127\\.0\\.0\\.1|postgres://`));
    const globals = resticBuffer(['dump', 'latest', '/postgres/globals.sql'], {
      repo: repoDir,
      password: REPO_PASSWORD,
    }).toString();
    assert.match(globals, new RegExp(`CREATE ROLE ${role};`));

    const dst = randomName('hf_dst');
    made.push(dst);
    const res = await restorePostgres(repo, snap, { into: SHARED_PG.url(dst, SECRET) });
    assert.equal(res.restored.length, 1);
    assert.doesNotMatch(res.restored[0], new RegExp(SECRET));
    const want = fingerprint(SHARED_PG, src);
    assert.deepEqual(Object.keys(want).sort(), [
      'indexes',
      'inventory.items',
      'public.customers',
      'public.orders',
      'sequences',
      'views',
    ]);
    assert.deepEqual(fingerprint(SHARED_PG, dst), want);
    assert.equal(
      psql(SHARED_PG, dst, `SELECT has_table_privilege('${role}', 'customers', 'SELECT');`).trim(),
      't',
    );
    // A second restore into the now non-empty database is refused.
    await assert.rejects(restorePostgres(repo, snap, { into: SHARED_PG.url(dst) }), /is not empty/);
  });

  test('restic dump gives back exactly the bytes pg_dump produced, and pg_restore restores them by hand', async () => {
    const snap = (await listSnapshots(repo)).at(-1)!;
    const file = (await readManifest(repo, snap))!.files.find((f) => f.database === src)!;
    const bytes = resticBuffer(['dump', 'latest', file.path], { repo: repoDir, password: REPO_PASSWORD });
    assert.equal(bytes.length, file.size);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), file.sha256);
    const byHand = randomName('hf_hand');
    made.push(byHand);
    psql(SHARED_PG, 'postgres', `CREATE DATABASE ${byHand};`);
    execFileSync('pg_restore', ['--no-owner', '-h', '127.0.0.1', '-U', 'postgres', '-d', byHand], {
      input: bytes,
    });
    assert.deepEqual(fingerprint(SHARED_PG, byHand), fingerprint(SHARED_PG, src));
  });

  test('a closed port, an unknown role, an unknown database: a clear error and no snapshot', async () => {
    const port = await freePort();
    await expectFailure(
      repoDir,
      () =>
        backupPostgres(
          repo,
          { type: 'postgres', url: `postgres://postgres:${SECRET}@127.0.0.1:${port}/${src}` },
          { hostname: 'h' },
        ),
      new RegExp(
        `cannot connect to PostgreSQL at postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/${src}: .*Connection refused`,
      ),
    );
    await expectFailure(
      repoDir,
      () =>
        backupPostgres(
          repo,
          { type: 'postgres', url: `postgres://no_such_role:${SECRET}@127.0.0.1:5432/${src}` },
          { hostname: 'h' },
        ),
      /cannot connect to PostgreSQL .*role "no_such_role" does not exist/,
    );
    await expectFailure(
      repoDir,
      () =>
        backupPostgres(
          repo,
          { type: 'postgres', url: SHARED_PG.url(src, SECRET), databases: [src, 'no_such_db_hf'] },
          { hostname: 'h' },
        ),
      /pg_dump of database "no_such_db_hf" .*exited with code 1: .*database "no_such_db_hf" does not exist/,
    );
  });

  test('a connection lost in the middle of pg_dump fails the backup and writes no snapshot', async () => {
    // Hold a lock pg_dump must wait for, so that it is surely mid-dump when its backend is terminated.
    const holder = spawn('psql', ['-X', '-q', '-h', '127.0.0.1', '-U', 'postgres', '-d', src], {
      env: { ...process.env, PGAPPNAME: 'hf-lock-holder' },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    holder.stdin.write('BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30);\n');
    const run = promisify(execFile);
    const sql = (q: string) =>
      run('psql', ['-X', '-A', '-t', '-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-c', q]).then(
        (r) => r.stdout.trim(),
      );
    try {
      const backup = backupPostgres(
        repo,
        { type: 'postgres', url: SHARED_PG.url(src), globals: false },
        { hostname: 'h' },
      );
      backup.catch(() => undefined);
      let killed = '';
      for (let i = 0; i < 400 && !killed; i++) {
        killed = await sql(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = '${src}' AND application_name = 'pg_dump' AND wait_event_type = 'Lock'`,
        );
        if (!killed) await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(killed, 't', 'pg_dump was seen waiting and terminated');
      await expectFailure(
        repoDir,
        () => backup,
        new RegExp(`pg_dump of database "${src}" .*exited with code 1`),
      );
    } finally {
      await sql(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hf-lock-holder'`,
      );
      holder.kill();
    }
  });

  test('a small change in the middle of a large table adds little to the repository: the dump deduplicates', async () => {
    const db = randomName('hf_dedup');
    made.push(db);
    psql(SHARED_PG, 'postgres', `CREATE DATABASE ${db};`);
    // About 31 MB of dump text, rows in id order.
    psql(
      SHARED_PG,
      db,
      `CREATE TABLE t AS SELECT g AS id, md5(g::text) AS a, md5((g * 7)::text) AS b FROM generate_series(1, 400000) g;`,
    );
    const dedupDir = path.join(tmp, 'dedup-repo');
    const dedupRepo = await newTestRepo(dedupDir);
    const packBytes = () =>
      fs
        .readdirSync(path.join(dedupDir, 'data'), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .reduce((sum, e) => sum + fs.statSync(path.join(e.parentPath, e.name)).size, 0);
    const backup = () =>
      backupPostgres(
        dedupRepo,
        { type: 'postgres', url: SHARED_PG.url(db), globals: false },
        { hostname: 'h' },
      );
    await backup();
    const first = packBytes();
    psql(SHARED_PG, db, 'DELETE FROM t WHERE id BETWEEN 200000 AND 200050;');
    await backup();
    const added = packBytes() - first;
    // A dump compressed by pg_dump (its default without -Z0) changes from the first changed
    // row to the end of the table: this test measured 75% added that way, 4% with -Z0.
    assert.ok(first > 4e6, `first backup stored ${first} bytes`);
    assert.ok(added < first * 0.2, `the second backup added ${added} bytes to ${first}`);
  });

  test('client tools older than the server: the error says which tools to install', () => {
    assert.throws(
      () => checkToolVersion('pg_dump', 'pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)', 160004),
      /pg_dump 15 is older than the PostgreSQL 16 server: install the PostgreSQL 16 client tools \(e\.g\. apt-get install postgresql-client-16\)/,
    );
    checkToolVersion('pg_dump', 'pg_dump (PostgreSQL) 15.20', 150020);
    checkToolVersion('pg_dump', 'pg_dump (PostgreSQL) 16.1', 90624);
  });
});

describe('postgres source (private cluster with password authentication)', () => {
  let tmp: string;
  let cluster: PgCluster;
  let repoDir: string;
  let repo: Repository;

  before(async () => {
    tmp = makeTempDir('pg-cluster-source');
    cluster = await startPgCluster();
    repoDir = path.join(tmp, 'repo');
    repo = await newTestRepo(repoDir);
  });
  after(() => {
    cluster?.stop();
    removeDir(tmp);
  });

  test('all databases are dumped, and restoring the snapshot recreates each one', async () => {
    const pw = cluster.password;
    psql(cluster, 'postgres', 'CREATE ROLE app_owner; CREATE DATABASE sales; CREATE DATABASE "crm-eu";', pw);
    psql(cluster, 'sales', schemaSql('app_owner'), pw);
    psql(
      cluster,
      'crm-eu',
      "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'Grüße aus Köln'), (2, 'こんにちは');",
      pw,
    );
    const want = { sales: fingerprint(cluster, 'sales', pw), crm: fingerprint(cluster, 'crm-eu', pw) };

    const r = await backupPostgres(
      repo,
      { type: 'postgres', url: cluster.url('postgres', pw), databases: ['*'] },
      { hostname: 'h' },
    );
    const snap = (await listSnapshots(repo)).find((s) => s.id === r.snapshotId)!;
    const manifest = (await readManifest(repo, snap))!;
    assert.deepEqual(manifest.databases, ['crm-eu', 'postgres', 'sales']);
    assert.doesNotMatch(JSON.stringify(manifest), new RegExp(pw));

    psql(cluster, 'postgres', 'DROP DATABASE sales; DROP DATABASE "crm-eu";', pw);
    const res = await restorePostgres(repo, snap, { into: cluster.url('postgres', pw) });
    assert.equal(res.restored.length, 3);
    assert.deepEqual(fingerprint(cluster, 'sales', pw), want.sales);
    assert.deepEqual(fingerprint(cluster, 'crm-eu', pw), want.crm);
    // One database of the snapshot under a new name.
    await restorePostgres(repo, snap, { into: cluster.url('sales_copy', pw), database: 'sales' });
    assert.deepEqual(fingerprint(cluster, 'sales_copy', pw), want.sales);
  });

  test('a wrong password fails with the server’s message, without the password, and no snapshot', async () => {
    const wrong = `${SECRET}-wrong`;
    await expectFailure(
      repoDir,
      () =>
        backupPostgres(repo, { type: 'postgres', url: cluster.url('postgres', wrong) }, { hostname: 'h' }),
      /cannot connect to PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres: .*password authentication failed for user "postgres"/,
    );
  });
});
