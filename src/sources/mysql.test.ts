/**
 * The mysql source against the local MariaDB: tables, indexes, a trigger, a routine, a view
 * and non-ASCII (4-byte) data round-trip into a new database (an md5 over the ordered rows
 * of every table equal); a wrong password, a closed port and an unknown database each fail
 * clearly, without the password, and write no snapshot.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Repository } from '../engine/repository.js';
import { listSnapshots } from '../engine/snapshots.js';
import { isHoldfastError } from '../errors.js';
import { resticBuffer } from '../testing/restic.js';
import { mariadb, newTestRepo, randomName, REPO_PASSWORD, snapshotCount } from '../testing/sources.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { backupMysql, restoreMysql } from './mysql.js';
import { freePort } from './redis.js';
import { readManifest } from './source-snapshot.js';

const SECRET = 'my-Secret-Pass-0815';

const SCHEMA = `
CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL, email VARCHAR(200) UNIQUE,
  city VARCHAR(100), KEY idx_city (city)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(10,2), note TEXT,
  payload BLOB, KEY idx_customer (customer_id), CONSTRAINT fk_c FOREIGN KEY (customer_id) REFERENCES customers (id))
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(200)) DEFAULT CHARSET=utf8mb4;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit (msg) VALUES (CONCAT('order ', NEW.id));
CREATE FUNCTION double_it (x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 500;
INSERT INTO customers (name, email, city) VALUES ('Zoë Ångström', 'zoe@example.org', 'Malmö'),
  ('山田太郎', 'taro@example.jp', '東京'), ('Emoji 🎉 Fan', 'party@example.com', 'Zürich');
INSERT INTO customers (name, email, city) SELECT CONCAT('customer ', seq), CONCAT('c', seq, '@example.com'), 'Köln'
  FROM seq_1_to_1500;
INSERT INTO orders (customer_id, amount, note, payload) SELECT 1 + seq % 1503, (seq * 7 % 100000) / 100,
  IF(seq % 5 = 0, 'naïve café ☕', NULL), UNHEX('00FF10') FROM seq_1_to_3000;
`;

function fingerprint(db: string): Record<string, string> {
  const tables = mariadb(
    db,
    "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1;",
  )
    .split('\n')
    .filter(Boolean);
  const out: Record<string, string> = {};
  for (const t of tables) {
    const cols = mariadb(
      db,
      `SELECT GROUP_CONCAT(CONCAT('COALESCE(HEX(\`', column_name, '\`), ''~'')') ORDER BY ordinal_position SEPARATOR ',') FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '${t}';`,
    ).trim();
    out[t] = mariadb(
      db,
      `SET SESSION group_concat_max_len = 1 << 30; SELECT CONCAT(MD5(COALESCE(GROUP_CONCAT(r ORDER BY r SEPARATOR '\\n'), '')), ' ', COUNT(*)) FROM (SELECT CONCAT_WS('|', ${cols}) AS r FROM \`${t}\`) x;`,
    ).trim();
  }
  out.routines = mariadb(
    db,
    'SELECT GROUP_CONCAT(routine_name ORDER BY 1) FROM information_schema.routines WHERE routine_schema = DATABASE();',
  ).trim();
  out.triggers = mariadb(
    db,
    'SELECT GROUP_CONCAT(trigger_name ORDER BY 1) FROM information_schema.triggers WHERE trigger_schema = DATABASE();',
  ).trim();
  out.views = mariadb(
    db,
    'SELECT GROUP_CONCAT(table_name ORDER BY 1) FROM information_schema.views WHERE table_schema = DATABASE();',
  ).trim();
  out.indexes = mariadb(
    db,
    "SELECT GROUP_CONCAT(CONCAT(table_name, '.', index_name, '.', column_name) ORDER BY 1) FROM information_schema.statistics WHERE table_schema = DATABASE();",
  ).trim();
  return out;
}

async function expectFailure(repoDir: string, run: () => Promise<unknown>, message: RegExp): Promise<void> {
  const before = await snapshotCount(repoDir);
  const caught = await run().then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(isHoldfastError(caught, 'SOURCE_FAILED'), `expected SOURCE_FAILED, got ${String(caught)}`);
  assert.match(caught.message, message);
  assert.doesNotMatch(caught.message, new RegExp(SECRET));
  assert.equal(await snapshotCount(repoDir), before, 'no snapshot may be written');
}

describe('mysql source (local MariaDB)', () => {
  let tmp: string;
  let repoDir: string;
  let repo: Repository;
  const src = randomName('hf_src');
  const dst = randomName('hf_dst');
  const user = randomName('hf_user');

  before(async () => {
    tmp = makeTempDir('mysql-source');
    repoDir = path.join(tmp, 'repo');
    repo = await newTestRepo(repoDir);
    mariadb(
      undefined,
      `CREATE DATABASE ${src} CHARACTER SET utf8mb4; CREATE USER '${user}'@'%' IDENTIFIED BY '${SECRET}';
      GRANT ALL ON ${src}.* TO '${user}'@'%'; GRANT SELECT ON mysql.proc TO '${user}'@'%';`,
    );
    mariadb(src, SCHEMA);
  });
  after(() => {
    mariadb(
      undefined,
      `DROP DATABASE IF EXISTS ${src}; DROP DATABASE IF EXISTS ${dst}; DROP USER IF EXISTS '${user}'@'%';`,
    );
    removeDir(tmp);
  });

  test('a database dumped by a password-protected user round-trips into a new database: every table equal', async () => {
    const url = `mysql://${user}:${SECRET}@127.0.0.1:3306/${src}`;
    const r = await backupMysql(repo, { type: 'mysql', url }, { hostname: 'h', asset: 'shop-db' });
    assert.deepEqual(r.snapshot.tags, ['holdfast', 'source:mysql', 'asset:shop-db']);
    assert.deepEqual(r.snapshot.paths, ['/holdfast-source.json', `/mysql/${src}.sql`]);
    const snap = (await listSnapshots(repo)).find((s) => s.id === r.snapshotId)!;
    const manifest = (await readManifest(repo, snap))!;
    assert.deepEqual(manifest.databases, [src]);
    assert.match(manifest.serverVersion!, /MariaDB|^\d+\.\d+/);
    const dump = resticBuffer(['dump', 'latest', `/mysql/${src}.sql`], {
      repo: repoDir,
      password: REPO_PASSWORD,
    }).toString();
    assert.match(dump, /CREATE TABLE `customers`/);
    assert.match(dump, /Emoji 🎉 Fan/);
    assert.doesNotMatch(dump + JSON.stringify(manifest), new RegExp(SECRET));

    // Restoring objects whose definer is root (trigger, function, view) takes an admin.
    const res = await restoreMysql(repo, snap, { into: `mysql://root@127.0.0.1:3306/${dst}` });
    assert.doesNotMatch(res.restored.join('\n'), new RegExp(SECRET));
    const want = fingerprint(src);
    assert.match(want.customers, / 1503$/);
    assert.match(want.audit, / 3000$/);
    assert.deepEqual(Object.keys(want).sort(), [
      'audit',
      'customers',
      'indexes',
      'orders',
      'routines',
      'triggers',
      'views',
    ]);
    assert.deepEqual(fingerprint(dst), want);
  });

  test('a wrong password, a closed port, an unknown database: a clear error and no snapshot', async () => {
    await expectFailure(
      repoDir,
      () =>
        backupMysql(
          repo,
          { type: 'mysql', url: `mysql://${user}:${SECRET}-wrong@127.0.0.1:3306/${src}` },
          { hostname: 'h' },
        ),
      new RegExp(
        `cannot connect to MySQL at mysql://${user}:\\*\\*\\*@127\\.0\\.0\\.1:3306/${src}: ERROR 1045 .*Access denied`,
      ),
    );
    const port = await freePort();
    await expectFailure(
      repoDir,
      () =>
        backupMysql(
          repo,
          { type: 'mysql', url: `mysql://root:${SECRET}@127.0.0.1:${port}/${src}` },
          { hostname: 'h' },
        ),
      /cannot connect to MySQL at mysql:\/\/root:\*\*\*@127\.0\.0\.1:\d+\/\w+: ERROR 2002|ERROR 2003/,
    );
    await expectFailure(
      repoDir,
      () =>
        backupMysql(
          repo,
          {
            type: 'mysql',
            url: `mysql://${user}:${SECRET}@127.0.0.1:3306/${src}`,
            databases: ['no_such_db_hf'],
          },
          { hostname: 'h' },
        ),
      /mariadb-dump of database "no_such_db_hf" .*exited with code 2: .*(Unknown database|Access denied)/,
    );
  });
});
