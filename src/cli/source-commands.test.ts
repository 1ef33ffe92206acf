/**
 * `holdfast source-backup` and `holdfast source-restore` as a user runs them: a PostgreSQL
 * database backed up (URL from the environment), listed by restic with the source's tags,
 * and restored into a new database; a failing source exits 1 with one line and no snapshot.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { holdfast, holdfastOk, repoEnv } from '../testing/cli.js';
import { resticJson } from '../testing/restic.js';
import { psql, randomName, SHARED_PG } from '../testing/sources.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';

const PW = 'cli source password';

describe('source-backup and source-restore commands', () => {
  let tmp: string;
  const src = randomName('hf_cli_src');
  const dst = randomName('hf_cli_dst');

  before(() => {
    tmp = makeTempDir('source-cli');
    psql(SHARED_PG, 'postgres', `CREATE DATABASE ${src};`);
    psql(
      SHARED_PG,
      src,
      "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'värde ' || g FROM generate_series(1, 500) g;",
    );
  });
  after(() => {
    psql(
      SHARED_PG,
      'postgres',
      `DROP DATABASE IF EXISTS ${src} WITH (FORCE); DROP DATABASE IF EXISTS ${dst} WITH (FORCE);`,
    );
    removeDir(tmp);
  });

  test('backs up a database, restic lists it with the source tags, and it restores into a new database', () => {
    const repo = path.join(tmp, 'repo');
    const env = repoEnv(repo, PW, { HOLDFAST_SOURCE_URL: SHARED_PG.url(src, 'hidden-pw') });
    holdfastOk(['init'], { env });
    const out = holdfastOk(
      ['source-backup', '--type', 'postgres', '--asset', 'app-db', '--tag', 'cli', '--json'],
      { env },
    );
    const summary = JSON.parse(out.stdout.toString().trim().split('\n').pop()!);
    assert.match(summary.snapshot_id, /^[0-9a-f]{64}$/);
    const snaps = resticJson<{ id: string; tags: string[] }[]>(['snapshots'], { repo, password: PW });
    assert.deepEqual(snaps[0].tags, ['holdfast', 'source:postgres', 'asset:app-db', 'cli']);

    const restored = holdfastOk(['source-restore', 'latest', '--into', SHARED_PG.url(dst)], {
      env,
    }).stdout.toString();
    assert.match(restored, new RegExp(`restored postgres snapshot ${summary.snapshot_id.slice(0, 8)}`));
    assert.match(restored, new RegExp(`-> database "${dst}"`));
    assert.equal(psql(SHARED_PG, dst, "SELECT count(*) || ' ' || max(v) FROM t;").trim(), '500 värde 99');
  });

  test('a source that cannot be reached: exit 1, one line without the password, no snapshot', () => {
    const repo = path.join(tmp, 'repo-fail');
    const env = repoEnv(repo, PW);
    holdfastOk(['init'], { env });
    const r = holdfast(
      ['source-backup', '--type', 'postgres', '--url', 'postgres://postgres:hidden-pw@127.0.0.1:1/x'],
      { env },
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^holdfast: cannot connect to PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/x: .*Connection refused/,
    );
    assert.doesNotMatch(r.stderr, /hidden-pw/);
    assert.deepEqual(resticJson<unknown[]>(['snapshots'], { repo, password: PW }), []);
  });
});
