/**
 * The catalog's behaviour, proven by one suite run against both dialects: SQLite (a
 * temporary file) and PostgreSQL (a fresh `holdfast_test_<random>` database per catalog,
 * dropped afterwards). PostgreSQL must be reachable (HOLDFAST_TEST_POSTGRES_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres): if it is not, that suite fails, unless
 * HOLDFAST_TEST_NO_POSTGRES=1 says to skip it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { isHoldfastError } from '../errors.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { openCatalog, redactSecrets, type Catalog } from './catalog.js';
import { connectCatalog } from './connection.js';
import { MIGRATIONS, migrate, type Migration } from './migrations.js';

const execFileAsync = promisify(execFile);
const catalogError = (e: unknown) => isHoldfastError(e, 'CATALOG');
const invalid = (e: unknown) => isHoldfastError(e, 'INVALID_ARGUMENT');

/** Gives each test a catalog URL of its own; `setUp`/`tearDown` bracket the whole suite. */
interface CatalogFactory {
  setUp(): Promise<void>;
  freshUrl(): Promise<string>;
  tearDown(): Promise<void>;
}

function sqliteFactory(): CatalogFactory {
  let dir = '';
  let n = 0;
  return {
    async setUp() {
      dir = makeTempDir('catalog');
    },
    // a directory that does not exist yet: opening must create it
    async freshUrl() {
      return `sqlite:${path.join(dir, `c${++n}`, 'nested', 'catalog.db')}`;
    },
    async tearDown() {
      if (dir !== '') removeDir(dir);
    },
  };
}

const ADMIN_URL = process.env.HOLDFAST_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * One database per run; each fresh catalog is a schema of its own in it (selected with
 * `options=-c search_path=…` in the URL), because creating and dropping a database per
 * test costs seconds.
 */
function postgresFactory(): CatalogFactory {
  let admin: pg.Client | undefined;
  let database: string | undefined;
  let runUrl: URL | undefined;
  let n = 0;
  return {
    async setUp() {
      admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 10_000 });
      await admin.connect();
      database = `holdfast_test_${crypto.randomBytes(6).toString('hex')}`;
      await admin.query(`create database ${database}`);
      runUrl = new URL(ADMIN_URL);
      runUrl.pathname = `/${database}`;
    },
    async freshUrl() {
      assert.ok(runUrl, 'the PostgreSQL test database was not created');
      const schema = `catalog_${++n}`;
      const client = new pg.Client({ connectionString: runUrl.toString() });
      await client.connect();
      try {
        await client.query(`create schema ${schema}`);
      } finally {
        await client.end();
      }
      const url = new URL(runUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      return url.toString();
    },
    async tearDown() {
      if (admin === undefined) return;
      try {
        if (database !== undefined) await admin.query(`drop database if exists ${database} with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** Opens a fresh catalog, runs `fn`, and always closes it. */
async function withCatalog(factory: CatalogFactory, fn: (c: Catalog, url: string) => Promise<void>) {
  const url = await factory.freshUrl();
  const catalog = await openCatalog(url);
  try {
    await fn(catalog, url);
  } finally {
    await catalog.close();
  }
}

function catalogSuite(name: string, factory: CatalogFactory, options: { skip?: string } = {}) {
  describe(`catalog on ${name}`, { skip: options.skip }, () => {
    before(() => factory.setUp());
    after(() => factory.tearDown());

    test('opening creates the schema; reopening applies no migration twice and keeps the data', async () => {
      const url = await factory.freshUrl();
      const first = await openCatalog(url);
      const id = await first.startJob({ asset: 'db', kind: 'backup', startedAt: '2026-01-01T00:00:00Z' });
      const applied = await first.appliedMigrations();
      assert.deepEqual(
        applied.map((m) => m.version),
        MIGRATIONS.map((m) => m.version),
      );
      await first.close();

      const second = await openCatalog(url);
      try {
        assert.deepEqual(await second.appliedMigrations(), applied); // same rows, same times
        assert.equal((await second.getJob(id))?.asset, 'db');
      } finally {
        await second.close();
      }
      const conn = await connectCatalog(url);
      try {
        assert.deepEqual(await migrate(conn), []);
      } finally {
        await conn.db.destroy();
      }
    });

    test('concurrent opens of a new catalog migrate it exactly once', async () => {
      const url = await factory.freshUrl();
      const catalogs = await Promise.all([1, 2, 3, 4].map(() => openCatalog(url)));
      try {
        for (const c of catalogs) assert.equal((await c.appliedMigrations()).length, MIGRATIONS.length);
        await catalogs[0].startJob({ asset: 'a', kind: 'check', startedAt: new Date() });
        assert.equal((await catalogs[3].listJobs()).length, 1);
      } finally {
        await Promise.all(catalogs.map((c) => c.close()));
      }
    });

    test('separate processes opening a new catalog at once migrate it exactly once', async () => {
      const url = await factory.freshUrl();
      const catalogModule = new URL('./catalog.js', import.meta.url).href;
      const script =
        `const { openCatalog } = await import(${JSON.stringify(catalogModule)});` +
        `const c = await openCatalog(process.argv[1]);` +
        `await c.startJob({ asset: 'p' + process.pid, kind: 'backup', startedAt: new Date() });` +
        `console.log(JSON.stringify(await c.appliedMigrations())); await c.close();`;
      const children = [1, 2].map(() =>
        execFileAsync(process.execPath, ['--input-type=module', '-e', script, url]),
      );
      // this process opens it too while the children start
      const c = await openCatalog(url);
      try {
        const seen = (await Promise.all(children)).map((o) => JSON.parse(o.stdout) as unknown[]);
        seen.push(await c.appliedMigrations());
        for (const applied of seen) assert.deepEqual(applied, seen[0]);
        assert.equal(seen[0].length, MIGRATIONS.length);
        assert.equal((await c.listJobs({ kind: 'backup' })).length, 2);
      } finally {
        await c.close();
      }
    });

    test('a failing migration is rolled back and not recorded; a newer catalog is refused', async () => {
      const url = await factory.freshUrl();
      const createExtra: Migration['up'] = async (db) => {
        await db.schema.createTable('extra').addColumn('x', 'integer').execute();
      };
      const failing: Migration = {
        version: 2,
        name: 'extra',
        async up(db, dialect) {
          await createExtra(db, dialect);
          throw new Error('boom after creating a table');
        },
      };
      const conn = await connectCatalog(url);
      try {
        await assert.rejects(migrate(conn, [...MIGRATIONS, failing]), (e: unknown) => {
          return catalogError(e) && /version 2 \(extra\).*boom/.test((e as Error).message);
        });
        // version 1 stayed; the table of version 2 is gone (else creating it again would fail)
        assert.deepEqual(await migrate(conn, MIGRATIONS), []);
        assert.deepEqual(
          await migrate(conn, [...MIGRATIONS, { version: 2, name: 'extra', up: createExtra }]),
          [2],
        );
      } finally {
        await conn.db.destroy();
      }
      await assert.rejects(openCatalog(url), (e: unknown) => {
        return (
          catalogError(e) &&
          /schema version 2, newer than this holdfast knows \(1\)/.test((e as Error).message)
        );
      });
    });

    test('a started job is running; its outcome reads back field by field', async () => {
      await withCatalog(factory, async (c) => {
        const id = await c.startJob({
          asset: 'service-db',
          kind: 'backup',
          repository: 'primary',
          startedAt: new Date('2026-03-01T03:00:00.123Z'),
        });
        assert.deepEqual(await c.getJob(id), {
          id,
          asset: 'service-db',
          kind: 'backup',
          repository: 'primary',
          startedAt: '2026-03-01T03:00:00.123Z',
          finishedAt: null,
          status: 'running',
          bytesAdded: null,
          snapshotId: null,
          error: null,
          details: null,
          host: os.hostname(),
          pid: process.pid,
        });
        await c.finishJob(id, {
          status: 'succeeded',
          finishedAt: '2026-03-01T04:30:00+01:00', // another zone: stored as UTC
          bytesAdded: 5_000_000_000_123, // beyond 32 bits
          snapshotId: 'a'.repeat(64),
          details: { files: 12, paths: ['/etc'], nested: { ok: true } },
        });
        const job = await c.getJob(id);
        assert.equal(job?.status, 'succeeded');
        assert.equal(job?.finishedAt, '2026-03-01T03:30:00.000Z');
        assert.equal(job?.bytesAdded, 5_000_000_000_123);
        assert.equal(typeof job?.bytesAdded, 'number');
        assert.equal(job?.snapshotId, 'a'.repeat(64));
        assert.deepEqual(job?.details, { files: 12, paths: ['/etc'], nested: { ok: true } });
        assert.equal(job?.error, null);
        assert.equal(await c.getJob(id + 1000), undefined);
      });
    });

    test('an outcome is recorded once: finishing again or an unknown job is refused', async () => {
      await withCatalog(factory, async (c) => {
        const id = await c.startJob({ asset: 'a', kind: 'prune', startedAt: '2026-01-01T00:00:00Z' });
        await c.finishJob(id, { status: 'failed', finishedAt: '2026-01-01T00:01:00Z', error: 'disk full' });
        await assert.rejects(
          c.finishJob(id, { status: 'succeeded', finishedAt: '2026-01-01T00:02:00Z' }),
          (e: unknown) => catalogError(e) && /already failed/.test((e as Error).message),
        );
        assert.equal((await c.getJob(id))?.status, 'failed');
        await assert.rejects(
          c.finishJob(999_999, { status: 'succeeded', finishedAt: '2026-01-01T00:02:00Z' }),
          (e: unknown) => isHoldfastError(e, 'NOT_FOUND'),
        );
      });
    });

    test('invalid input is rejected before anything is stored', async () => {
      await withCatalog(factory, async (c) => {
        const at = '2026-01-01T00:00:00Z';
        await assert.rejects(c.startJob({ asset: 'a', kind: 'nap' as 'backup', startedAt: at }), invalid);
        await assert.rejects(c.startJob({ asset: '', kind: 'backup', startedAt: at }), invalid);
        await assert.rejects(
          c.startJob({ asset: 'a', kind: 'backup', startedAt: '2026-01-01T00:00:00' }),
          invalid,
        );
        await assert.rejects(c.startJob({ asset: 'a', kind: 'backup', startedAt: 'yesterday' }), invalid);
        await assert.rejects(c.startJob({ asset: 'a', kind: 'backup', startedAt: new Date(NaN) }), invalid);
        const id = await c.startJob({ asset: 'a', kind: 'backup', startedAt: at });
        await assert.rejects(c.finishJob(id, { status: 'running' as 'failed', finishedAt: at }), invalid);
        await assert.rejects(
          c.finishJob(id, { status: 'succeeded', finishedAt: at, bytesAdded: -1 }),
          invalid,
        );
        await assert.rejects(
          c.finishJob(id, { status: 'succeeded', finishedAt: at, bytesAdded: 1.5 }),
          invalid,
        );
        await assert.rejects(
          c.finishJob(id, { status: 'failed', finishedAt: at, details: { n: 1n } }),
          invalid,
        );
        await assert.rejects(c.listJobs({ limit: 0 }), invalid);
        assert.deepEqual(
          (await c.listJobs()).map((j) => [j.id, j.status]),
          [[id, 'running']],
        );
      });
    });

    test('listJobs is newest first and filters by asset, kind, status, repository, since and limit', async () => {
      await withCatalog(factory, async (c) => {
        const add = async (
          asset: string,
          kind: 'backup' | 'copy' | 'check',
          day: number,
          repository?: string,
        ) =>
          c.startJob({
            asset,
            kind,
            repository,
            startedAt: `2026-01-${String(day).padStart(2, '0')}T00:00:00Z`,
          });
        // inserted out of time order; two jobs share a start time (the later id is newer)
        const j5 = await add('db', 'backup', 5, 'primary');
        const j1 = await add('db', 'backup', 1, 'primary');
        const j3 = await add('files', 'backup', 3, 'primary');
        const j7 = await add('db', 'copy', 7, 'offsite');
        const j7b = await add('db', 'check', 7);
        const j2 = await add('db', 'backup', 2, 'primary');
        await c.finishJob(j1, { status: 'succeeded', finishedAt: '2026-01-01T01:00:00Z' });
        await c.finishJob(j2, { status: 'failed', finishedAt: '2026-01-02T01:00:00Z' });
        await c.finishJob(j7, { status: 'succeeded', finishedAt: '2026-01-07T01:00:00Z' });

        const ids = async (f: Parameters<Catalog['listJobs']>[0]) => (await c.listJobs(f)).map((j) => j.id);
        assert.deepEqual(await ids({}), [j7b, j7, j5, j3, j2, j1]);
        assert.deepEqual(await ids({ asset: 'db' }), [j7b, j7, j5, j2, j1]);
        assert.deepEqual(await ids({ asset: 'db', kind: 'backup' }), [j5, j2, j1]);
        assert.deepEqual(await ids({ kind: ['copy', 'check'] }), [j7b, j7]);
        assert.deepEqual(await ids({ kind: [] }), []);
        assert.deepEqual(await ids({ status: 'running' }), [j7b, j5, j3]);
        assert.deepEqual(await ids({ status: ['succeeded', 'failed'] }), [j7, j2, j1]);
        assert.deepEqual(await ids({ repository: 'offsite' }), [j7]);
        assert.deepEqual(await ids({ since: new Date('2026-01-03T00:00:00Z') }), [j7b, j7, j5, j3]);
        assert.deepEqual(await ids({ asset: 'db', limit: 2 }), [j7b, j7]);
        assert.deepEqual(await ids({ asset: 'nobody' }), []);
      });
    });

    test('lastJob, lastSuccessful and lastVerified pick the newest matching job', async () => {
      await withCatalog(factory, async (c) => {
        const run = async (
          kind: 'backup' | 'copy' | 'check' | 'drill',
          day: number,
          status: 'succeeded' | 'failed' | 'running',
          repository?: string,
        ) => {
          const startedAt = `2026-02-${String(day).padStart(2, '0')}T00:00:00Z`;
          const id = await c.startJob({ asset: 'db', kind, repository, startedAt });
          if (status !== 'running') await c.finishJob(id, { status, finishedAt: startedAt });
          return id;
        };
        const b1 = await run('backup', 1, 'succeeded', 'primary');
        const b2 = await run('backup', 2, 'failed', 'primary');
        const b3 = await run('backup', 3, 'running', 'primary');
        const cp1 = await run('copy', 1, 'succeeded', 'offsite');
        const cp2 = await run('copy', 2, 'succeeded', 'dr');
        const ch1 = await run('check', 4, 'succeeded', 'primary');
        const d1 = await run('drill', 5, 'failed', 'primary');
        const ch2 = await run('check', 6, 'succeeded', 'offsite');

        assert.equal((await c.lastJob('db'))?.id, ch2);
        assert.equal((await c.lastJob('db', 'backup'))?.id, b3);
        assert.equal((await c.lastJob('db', 'copy', 'offsite'))?.id, cp1);
        assert.equal((await c.lastJob('db', 'copy'))?.id, cp2);
        assert.equal(await c.lastJob('other'), undefined);
        assert.equal((await c.lastSuccessful('db', 'backup'))?.id, b1);
        assert.equal((await c.lastSuccessful('db', 'backup', 'primary'))?.id, b1);
        assert.equal(await c.lastSuccessful('db', 'backup', 'offsite'), undefined);
        assert.equal(await c.lastSuccessful('db', 'drill'), undefined);
        assert.equal((await c.lastVerified('db'))?.id, ch2);
        assert.equal((await c.lastVerified('db', 'primary'))?.id, ch1); // the failed drill does not count
        assert.equal(await c.lastVerified('files'), undefined);
        void [b2, d1];
      });
    });

    test('latestJobs gives the newest job per asset, kind and repository', async () => {
      await withCatalog(factory, async (c) => {
        const at = (h: number) => `2026-04-01T${String(h).padStart(2, '0')}:00:00Z`;
        const start = (asset: string, kind: 'backup' | 'copy', h: number, repository?: string) =>
          c.startJob({ asset, kind, repository, startedAt: at(h) });
        const a1 = await start('web', 'backup', 1, 'primary');
        const a2 = await start('web', 'backup', 2, 'primary');
        const a3 = await start('web', 'copy', 3, 'offsite');
        const a4 = await start('web', 'copy', 4); // no repository: its own group
        const b1 = await start('Api', 'backup', 5, 'primary');
        await c.finishJob(a1, { status: 'succeeded', finishedAt: at(1) });
        await c.finishJob(a2, { status: 'failed', finishedAt: at(2) });
        await c.finishJob(a3, { status: 'succeeded', finishedAt: at(3) });

        const all = await c.latestJobs();
        assert.deepEqual(
          all.map((j) => [j.asset, j.kind, j.repository, j.id]),
          [
            ['Api', 'backup', 'primary', b1],
            ['web', 'backup', 'primary', a2],
            ['web', 'copy', null, a4],
            ['web', 'copy', 'offsite', a3],
          ],
        );
        assert.deepEqual(
          (await c.latestJobs({ status: 'succeeded' })).map((j) => j.id),
          [a1, a3],
        );
        assert.deepEqual(
          (await c.latestJobs({ asset: 'Api' })).map((j) => j.id),
          [b1],
        );
      });
    });

    test('abortRunningJobs marks only running jobs aborted, optionally of one host, and counts them', async () => {
      await withCatalog(factory, async (c) => {
        const at = '2026-05-01T00:00:00Z';
        const done = await c.startJob({ asset: 'a', kind: 'backup', startedAt: at });
        await c.finishJob(done, { status: 'succeeded', finishedAt: at });
        const here1 = await c.startJob({ asset: 'a', kind: 'backup', startedAt: at, host: 'here', pid: 10 });
        const here2 = await c.startJob({ asset: 'b', kind: 'restore', startedAt: at, host: 'here', pid: 11 });
        const there = await c.startJob({ asset: 'c', kind: 'copy', startedAt: at, host: 'there', pid: 12 });

        const when = new Date('2026-05-01T02:00:00Z');
        assert.equal(
          await c.abortRunningJobs('daemon restarted; the job was interrupted', when, { host: 'here' }),
          2,
        );
        for (const id of [here1, here2]) {
          const j = await c.getJob(id);
          assert.equal(j?.status, 'aborted');
          assert.equal(j?.finishedAt, '2026-05-01T02:00:00.000Z');
          assert.equal(j?.error, 'daemon restarted; the job was interrupted');
          assert.equal(j?.pid, id === here1 ? 10 : 11);
        }
        assert.equal((await c.getJob(there))?.status, 'running');
        assert.equal((await c.getJob(done))?.status, 'succeeded');
        assert.equal(await c.abortRunningJobs('again', when), 1);
        assert.equal((await c.getJob(there))?.status, 'aborted');
        assert.equal(await c.abortRunningJobs('nothing left', when), 0);
        await assert.rejects(c.finishJob(there, { status: 'succeeded', finishedAt: when }), catalogError);
      });
    });

    test('heartbeats keep the latest time, pid and host per name', async () => {
      await withCatalog(factory, async (c) => {
        assert.equal(await c.heartbeat('daemon'), undefined);
        await c.recordHeartbeat('daemon', '2026-06-01T00:00:00Z');
        assert.deepEqual(await c.heartbeat('daemon'), {
          name: 'daemon',
          at: '2026-06-01T00:00:00.000Z',
          pid: process.pid,
          host: os.hostname(),
        });
        await c.recordHeartbeat('daemon', new Date('2026-06-01T00:01:00Z'), { pid: 42, host: 'worker-2' });
        await c.recordHeartbeat('scheduler', '2026-06-01T00:00:30Z');
        assert.deepEqual(await c.heartbeat('daemon'), {
          name: 'daemon',
          at: '2026-06-01T00:01:00.000Z',
          pid: 42,
          host: 'worker-2',
        });
        assert.deepEqual(
          (await c.listHeartbeats()).map((h) => [h.name, h.at]),
          [
            ['daemon', '2026-06-01T00:01:00.000Z'],
            ['scheduler', '2026-06-01T00:00:30.000Z'],
          ],
        );
      });
    });

    test('passwords in errors, abort reasons and details are redacted before they are stored', async () => {
      await withCatalog(factory, async (c) => {
        const at = '2026-07-01T00:00:00Z';
        const id = await c.startJob({ asset: 'db', kind: 'backup', startedAt: at });
        await c.finishJob(id, {
          status: 'failed',
          finishedAt: at,
          error: 'pg_dump postgres://backup:s3cret@db/app failed; password=hunter2 rejected',
          details: { command: 'PGPASSWORD=hunter2 pg_dump', url: 'postgres://u:s3cret@h/x', count: 3 },
        });
        const abortedId = await c.startJob({ asset: 'db', kind: 'copy', startedAt: at });
        await c.abortRunningJobs('killed while copying to sftp://me:s3cret@dr/srv', at);

        const stored = JSON.stringify([await c.getJob(id), await c.getJob(abortedId)]);
        assert.doesNotMatch(stored, /s3cret|hunter2/);
        const job = await c.getJob(id);
        assert.equal(job?.error, 'pg_dump postgres://backup:***@db/app failed; password=*** rejected');
        assert.deepEqual(job?.details, {
          command: 'PGPASSWORD=*** pg_dump',
          url: 'postgres://u:***@h/x',
          count: 3,
        });
        assert.equal((await c.getJob(abortedId))?.error, 'killed while copying to sftp://me:***@dr/srv');
      });
    });

    test('a closed catalog refuses calls; closing twice is harmless', async () => {
      const c = await openCatalog(await factory.freshUrl());
      await c.close();
      await c.close();
      await assert.rejects(
        c.listJobs(),
        (e: unknown) => catalogError(e) && /is closed/.test((e as Error).message),
      );
    });
  });
}

catalogSuite('SQLite', sqliteFactory());
catalogSuite(
  'PostgreSQL',
  postgresFactory(),
  process.env.HOLDFAST_TEST_NO_POSTGRES === '1' ? { skip: 'HOLDFAST_TEST_NO_POSTGRES=1' } : {},
);

describe('catalog URLs and connection errors', () => {
  test('an unknown scheme is a CATALOG error that names it without the password', async () => {
    await assert.rejects(openCatalog('mysql://root:hunter2@db/holdfast'), (e: unknown) => {
      const m = (e as Error).message;
      return (
        catalogError(e) &&
        m.includes('unknown scheme "mysql:"') &&
        m.includes('sqlite:PATH') &&
        !/hunter2/.test(m)
      );
    });
    await assert.rejects(openCatalog('.holdfast/catalog.db'), (e: unknown) => {
      return catalogError(e) && /has no scheme/.test((e as Error).message);
    });
    await assert.rejects(
      openCatalog('sqlite:'),
      (e: unknown) => catalogError(e) && /has no path/.test((e as Error).message),
    );
  });

  test('an unreachable PostgreSQL is a clear CATALOG error without the password', async () => {
    for (const scheme of ['postgres', 'postgresql']) {
      await assert.rejects(openCatalog(`${scheme}://holdfast:hunter2@127.0.0.1:1/catalog`), (e: unknown) => {
        const m = (e as Error).message;
        assert.match(
          m,
          /^cannot connect to the catalog at postgres(ql)?:\/\/holdfast:\*\*\*@127\.0\.0\.1:1\/catalog: /,
        );
        assert.match(m, /ECONNREFUSED/);
        assert.match(m, /check that PostgreSQL is running/);
        assert.doesNotMatch(m, /hunter2/);
        return catalogError(e);
      });
    }
  });

  test('a SQLite catalog is created with its parent directories, in WAL mode', async () => {
    const dir = makeTempDir('catalog-wal');
    try {
      const file = path.join(dir, 'a', 'b', 'catalog.db');
      const c = await openCatalog(`sqlite:${file}`);
      await c.recordHeartbeat('x', new Date());
      await c.close();
      const db = new Database(file, { readonly: true });
      try {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      } finally {
        db.close();
      }
    } finally {
      removeDir(dir);
    }
  });

  test('a file that is not a SQLite database is a CATALOG error', async () => {
    const dir = makeTempDir('catalog-bad');
    try {
      const file = path.join(dir, 'catalog.db');
      fs.writeFileSync(file, 'this is not a database, just some text that is long enough '.repeat(100));
      await assert.rejects(openCatalog(`sqlite:${file}`), (e: unknown) => {
        return (
          catalogError(e) && (e as Error).message.startsWith(`cannot open the catalog at sqlite:${file}: `)
        );
      });
    } finally {
      removeDir(dir);
    }
  });

  test('sqlite::memory: gives a working catalog that lives as long as it is open', async () => {
    const c = await openCatalog('sqlite::memory:');
    try {
      const id = await c.startJob({ asset: 'a', kind: 'drill', startedAt: new Date() });
      assert.equal((await c.lastJob('a'))?.id, id);
    } finally {
      await c.close();
    }
  });
});

describe('redactSecrets', () => {
  const cases: [string, string][] = [
    ['postgres://backup:s3cret@db:5432/app', 'postgres://backup:***@db:5432/app'],
    ['postgresql://u:p%40ss@h/x and s3://k:v@bucket', 'postgresql://u:***@h/x and s3://k:***@bucket'],
    ['sftp://backup@dr-site//srv/holdfast', 'sftp://backup@dr-site//srv/holdfast'],
    ['https://example.com:8443/path', 'https://example.com:8443/path'],
    ['password=hunter2 host=db', 'password=*** host=db'],
    ['PGPASSWORD=hunter2 pg_dump', 'PGPASSWORD=*** pg_dump'],
    ['dbname=x password = "two words" user=y', 'dbname=x password = *** user=y'],
    ["?user=a&password='x y'&sslmode=require", '?user=a&password=***&sslmode=require'],
    ['token=abc;api_key=def', 'token=***;api_key=***'],
    ['wrong password: try again', 'wrong password: try again'],
    ['nothing secret here', 'nothing secret here'],
  ];
  for (const [input, expected] of cases) {
    test(`redacts ${JSON.stringify(input)}`, () => {
      assert.equal(redactSecrets(input), expected);
    });
  }
});
