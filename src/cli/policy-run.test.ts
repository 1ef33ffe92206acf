/**
 * The main job through the command line: `setup` creates the policy's repositories, `run`
 * backs up, copies and applies retention with every step in the catalog, one failing asset
 * does not stop the others, `status` exits non-zero when an asset is out of policy, and
 * `inventory` prints the checked-in table for the example policy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCatalog } from '../catalog/catalog.js';
import { cleanEnv, holdfast, holdfastOk } from '../testing/cli.js';
import { PRIMARY_PW, REPLICA_PW, writeTestPolicy, type TestPolicy } from '../testing/policy.js';
import { restic, resticJson } from '../testing/restic.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('holdfast run, status and inventory on a policy', () => {
  let tmp: string;
  let p: TestPolicy;

  before(() => {
    tmp = makeTempDir('policy-run');
    p = writeTestPolicy(
      tmp,
      `  notes:
    data: Notes from a command
    category: test
    source: { type: command, command: "echo notes-$(date +%s%N)", filename: notes.txt }
    schedule: "30 2 * * *"
    rpo: 1d
    retention: { keepLast: 2 }
    repository: primary
  broken:
    data: A dump that fails
    category: test
    source: { type: command, command: "echo partial; exit 3" }
    schedule: "30 2 * * *"
    retention: { keepLast: 2 }
    repository: primary
`,
    );
    holdfastOk(['setup', '--policy', p.file], { env: cleanEnv() });
  });
  after(() => removeDir(tmp));

  test('run: every step is a job; a failing asset fails alone and leaves no snapshot', async () => {
    const r = holdfast(['run', '--policy', p.file], { env: cleanEnv() });
    assert.equal(r.code, 1, 'one asset failed, so the run fails');
    assert.match(r.stderr, /broken: backup in primary failed: .*exit(ed)? .*3/);

    const catalog = await openCatalog(p.catalog);
    try {
      const docs = await catalog.lastSuccessful('docs', 'backup', 'primary');
      assert.ok(docs?.snapshotId, 'the docs backup succeeded with a snapshot');
      assert.ok((docs.bytesAdded ?? 0) > 0);
      const copy = await catalog.lastSuccessful('docs', 'copy', 'replica');
      assert.ok(copy, 'the copy to the replica is recorded');
      assert.ok(await catalog.lastSuccessful('docs', 'forget', 'primary'));
      assert.ok(await catalog.lastSuccessful('notes', 'backup', 'primary'));
      const broken = await catalog.lastJob('broken', 'backup');
      assert.equal(broken?.status, 'failed');
      assert.match(broken?.error ?? '', /3/);

      const primary = resticJson<{ id: string; tags?: string[] }[]>(['snapshots'], {
        repo: p.primary,
        password: PRIMARY_PW,
      });
      assert.ok(primary.some((s) => s.id === docs.snapshotId));
      assert.equal(
        primary.filter((s) => s.tags?.includes('asset:broken')).length,
        0,
        'no snapshot of the failed dump',
      );
      const replica = resticJson<{ original?: string }[]>(['snapshots'], {
        repo: p.replica,
        password: REPLICA_PW,
      });
      assert.ok(
        replica.some((s) => s.original === docs.snapshotId),
        'the replica holds a copy of the new snapshot',
      );
      for (const [repo, password] of [
        [p.primary, PRIMARY_PW],
        [p.replica, REPLICA_PW],
      ])
        assert.match(restic(['check', '--read-data'], { repo, password }), /no errors were found/);
    } finally {
      await catalog.close();
    }
  });

  test('run ASSET runs only that asset; retention keeps the newest snapshots', () => {
    for (let i = 0; i < 3; i++) holdfastOk(['run', 'notes', '--policy', p.file], { env: cleanEnv() });
    const notes = resticJson<{ tags?: string[] }[]>(['snapshots', '--tag', 'asset:notes'], {
      repo: p.primary,
      password: PRIMARY_PW,
    });
    assert.equal(notes.length, 2, 'keepLast 2 left two snapshots of notes');
    assert.match(restic(['check'], { repo: p.primary, password: PRIMARY_PW }), /no errors were found/);
    const unknown = holdfast(['run', 'doc', '--policy', p.file], { env: cleanEnv() });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no asset "doc".*did you mean "docs"\?/);
  });

  test('status exits 1 while an asset has no good backup, and names the problem', () => {
    const r = holdfast(['status', '--policy', p.file], { env: cleanEnv() });
    assert.equal(r.code, 1);
    const out = r.stdout.toString();
    assert.match(out, /broken: no good backup in primary yet/);
    assert.match(out, /docs\s+OK/);
    const json = JSON.parse(
      holdfast(['status', '--policy', p.file, '--json'], { env: cleanEnv() }).stdout.toString(),
    );
    assert.equal(json.inPolicy, false);
    const docs = json.assets.find((a: { asset: string }) => a.asset === 'docs');
    assert.equal(docs.inPolicy, true);
    assert.equal(docs.replicas[0].ok, true);
  });

  test('status exits 0 when every asset is in policy, 1 when a replica has no copy', () => {
    const dir = path.join(tmp, 'second');
    fs.mkdirSync(dir);
    const q = writeTestPolicy(dir);
    holdfastOk(['setup', '--policy', q.file], { env: cleanEnv() });
    holdfastOk(['run', '--policy', q.file], { env: cleanEnv() });
    const ok = holdfast(['status', '--policy', q.file], { env: cleanEnv() });
    assert.equal(ok.code, 0, ok.stdout.toString() + ok.stderr);
    assert.match(ok.stdout.toString(), /all assets are in policy/);

    // A new replica that has not received a copy yet puts the asset out of policy.
    const text = fs.readFileSync(q.file, 'utf8');
    fs.writeFileSync(
      q.file,
      text
        .replace('copies: [replica]', 'copies: [replica, offsite]')
        .replace('repositories:\n', 'repositories:\n  offsite: { url: repo-offsite, key: replica }\n'),
    );
    const bad = holdfast(['status', '--policy', q.file], { env: cleanEnv() });
    assert.equal(bad.code, 1);
    assert.match(bad.stdout.toString(), /docs: replica offsite has no copy yet/);
  });

  test('inventory of the example policy matches the checked-in table', () => {
    const expected = fs.readFileSync(path.join(ROOT, 'examples', 'inventory.md'), 'utf8');
    const md = holdfastOk(
      ['inventory', '--no-live', '--policy', path.join(ROOT, 'examples', 'holdfast.yaml')],
      {
        env: cleanEnv(),
      },
    );
    assert.equal(md.stdout.toString(), expected);
    const csv = holdfastOk(
      ['inventory', '--no-live', '--format', 'csv', '--policy', path.join(ROOT, 'examples', 'holdfast.yaml')],
      {
        env: cleanEnv(),
      },
    ).stdout.toString();
    assert.equal(
      csv.split('\r\n')[0],
      'Data,Storage Type,Location,Data Category,Immutable Backup,Business Use Case,Frequency,Retention,Notes',
    );
    assert.equal(
      csv.trim().split('\r\n').length,
      4,
      'a header and one row per asset, the unprotected one included',
    );
  });

  test('inventory with live columns shows the last backup from the catalog', () => {
    const json = JSON.parse(
      holdfastOk(['inventory', '--format', 'json', '--policy', p.file], {
        env: cleanEnv(),
      }).stdout.toString(),
    );
    const docs = json.find((r: { asset: string }) => r.asset === 'docs');
    assert.match(docs.lastBackup, /^\d{4}-\d\d-\d\dT/);
    assert.equal(docs.frequency, 'Twice a day');
    assert.equal(docs.retention, '60 days');
    const scratch = json.find((r: { asset: string }) => r.asset === 'scratch');
    assert.equal(scratch.frequency, 'Not backed up');
    assert.equal(scratch.notes, 'Can be recreated');
  });
});
