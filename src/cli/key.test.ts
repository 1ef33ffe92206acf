/**
 * `holdfast key` against the real restic 0.14: a key holdfast adds opens the repository with
 * both tools, the key in use cannot be removed, a removed key's password fails with exit 12,
 * `passwd` swaps the current key, and a key restic adds opens with holdfast.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { holdfast, holdfastOk, repoEnv } from '../testing/cli.js';
import { restic, resticJson, resticStatus } from '../testing/restic.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';

const PW1 = 'first password';
const PW2 = 'second password';
const PW3 = 'third password';

interface KeyRow {
  current: boolean;
  id: string;
  userName: string;
  hostName: string;
  created: string;
}

describe('key management', () => {
  let tmp: string;
  let repo: string;
  let pw2File: string;

  const keys = (password: string) =>
    JSON.parse(
      holdfastOk(['key', 'list', '--json'], { env: repoEnv(repo, password) }).stdout.toString(),
    ) as KeyRow[];

  before(() => {
    tmp = makeTempDir('key');
    repo = path.join(tmp, 'repo');
    pw2File = path.join(tmp, 'pw2');
    fs.writeFileSync(pw2File, PW2 + '\n');
    const data = path.join(tmp, 'data');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'f.txt'), 'key test');
    holdfastOk(['init'], { env: repoEnv(repo, PW1) });
    holdfastOk(['backup', data], { env: repoEnv(repo, PW1) });
  });
  after(() => removeDir(tmp));

  test('key add: the new password opens the repository with holdfast and restic; list shows both, the current one marked', () => {
    const out = holdfastOk(
      ['key', 'add', '--new-password-file', pw2File, '--user', 'alice', '--host', 'vault'],
      {
        env: repoEnv(repo, PW1),
      },
    );
    assert.doesNotMatch(out.stdout.toString() + out.stderr, new RegExp(PW2));

    const listed = keys(PW1);
    assert.equal(listed.length, 2);
    assert.equal(listed.filter((k) => k.current).length, 1);
    const added = listed.find((k) => !k.current)!;
    assert.equal(added.userName, 'alice');
    assert.equal(added.hostName, 'vault');
    const text = holdfastOk(['key', 'list'], { env: repoEnv(repo, PW1) }).stdout.toString();
    assert.match(text, new RegExp(`\\*${listed.find((k) => k.current)!.id}`));
    assert.match(text, new RegExp(` ${added.id}\\s+alice\\s+vault`));

    // The current key, seen with the new password, is the added one.
    assert.equal(keys(PW2).find((k) => k.current)!.id, added.id);
    assert.equal(resticJson<unknown[]>(['snapshots'], { repo, password: PW2 }).length, 1);
    const rKeys = resticJson<KeyRow[]>(['key', 'list'], { repo, password: PW2 });
    assert.deepEqual(rKeys.map((k) => k.id).sort(), listed.map((k) => k.id).sort());
    assert.equal(rKeys.find((k) => k.current)!.id, added.id);
  });

  test('key remove refuses the key in use; once the old key is gone its password fails with exit 12', () => {
    const oldId = keys(PW1).find((k) => k.current)!.id;
    const refused = holdfast(['key', 'remove', oldId], { env: repoEnv(repo, PW1) });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refusing to remove the key currently used/);
    assert.equal(keys(PW2).length, 2);

    const removed = holdfastOk(['key', 'remove', oldId], { env: repoEnv(repo, PW2) });
    assert.match(removed.stdout.toString(), new RegExp(`removed key ${oldId}`));
    assert.equal(keys(PW2).length, 1);
    const denied = holdfast(['snapshots'], { env: repoEnv(repo, PW1) });
    assert.equal(denied.code, 12);
    assert.match(denied.stderr, /wrong password/);
    assert.notEqual(resticStatus(['snapshots'], { repo, password: PW1 }).code, 0);
    assert.match(restic(['check'], { repo, password: PW2 }), /no errors were found/);
  });

  test('key passwd replaces the current key; restic opens the repository with the new password only', () => {
    const before = keys(PW2);
    const out = holdfastOk(['key', 'passwd'], { env: repoEnv(repo, PW2, { HOLDFAST_NEW_PASSWORD: PW3 }) });
    assert.doesNotMatch(out.stdout.toString() + out.stderr, new RegExp(PW3));
    const after = keys(PW3);
    assert.equal(after.length, 1);
    assert.notEqual(after[0].id, before[0].id);
    assert.equal(holdfast(['snapshots'], { env: repoEnv(repo, PW2) }).code, 12);
    assert.equal(resticJson<unknown[]>(['snapshots'], { repo, password: PW3 }).length, 1);
  });

  test('a key restic adds opens the repository with holdfast', () => {
    const file = path.join(tmp, 'restic-new');
    fs.writeFileSync(file, 'added by restic\n');
    restic(['key', 'add', '--new-password-file', file], { repo, password: PW3 });
    const listed = keys('added by restic');
    assert.equal(listed.length, 2);
    assert.equal(
      JSON.parse(
        holdfastOk(['snapshots', '--json'], { env: repoEnv(repo, 'added by restic') }).stdout.toString(),
      ).length,
      1,
    );
  });
});
