/**
 * Bad input and accidents, through the CLI as a user meets them: a wrong password, a
 * damaged pack, a backup killed with SIGKILL, and that no plaintext reaches the repository.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { holdfast, holdfastOk, holdfastSpawn, repoEnv } from '../testing/cli.js';
import { makeTestTree, pseudoRandomBytes } from '../testing/fixtures.js';
import { restic, resticStatus } from '../testing/restic.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';

const PW = 'robust password';

function filesUnder(dir: string): string[] {
  // A file listed may be renamed (tmp → final) by a running backup before it is stat'ed.
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f))
    .filter((f) => fs.statSync(f, { throwIfNoEntry: false })?.isFile() ?? false);
}

describe('bad input and accidents', () => {
  let tmp: string;
  before(() => {
    tmp = makeTempDir('robust');
  });
  after(() => removeDir(tmp));

  test('a wrong password gives one clear error line and a non-zero exit', () => {
    const repo = path.join(tmp, 'pw-repo');
    holdfastOk(['init'], { env: repoEnv(repo, PW) });
    const r = holdfast(['snapshots'], { env: repoEnv(repo, 'not the password') });
    assert.equal(r.code, 12);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0], /wrong password/);
    assert.ok(!r.stderr.includes('not the password'));
  });

  test('a missing repository and a missing password are named clearly', () => {
    const r = holdfast(['snapshots'], { env: repoEnv(path.join(tmp, 'nowhere'), PW) });
    assert.equal(r.code, 10);
    assert.match(r.stderr, /no repository at .*nowhere.*holdfast init/);
    const env = repoEnv(path.join(tmp, 'pw-repo'), PW);
    delete env.HOLDFAST_PASSWORD;
    const r2 = holdfast(['snapshots'], { env });
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /no repository password given/);
  });

  test('a pack with one flipped bit makes restore fail loudly, naming the damaged blob, and writes no wrong bytes', () => {
    const repo = path.join(tmp, 'flip-repo');
    const env = repoEnv(repo, PW);
    const src = path.join(tmp, 'flip-src');
    fs.mkdirSync(src);
    const content = pseudoRandomBytes(2_000_000, 9);
    fs.writeFileSync(path.join(src, 'victim.bin'), content);
    holdfastOk(['init'], { env });
    holdfastOk(['backup', src, '--compression', 'off'], { env });
    const packs = filesUnder(path.join(repo, 'data'));
    // The data pack is the larger one; flip a bit in the middle of its first blob.
    const pack = packs.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
    fs.chmodSync(pack, 0o600);
    const bytes = fs.readFileSync(pack);
    bytes[1000] ^= 0x01;
    fs.writeFileSync(pack, bytes);

    const target = path.join(tmp, 'flip-restore');
    const r = holdfast(['restore', 'latest', '--target', target], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /damaged data blob [0-9a-f]{64} in pack [0-9a-f]{64}/);
    const restored = path.join(target, src, 'victim.bin');
    if (fs.existsSync(restored)) {
      const got = fs.readFileSync(restored);
      assert.ok(content.subarray(0, got.length).equals(got), 'no wrong byte was written');
    }
    const d = holdfast(['dump', 'latest', path.join(src, 'victim.bin')], { env });
    assert.notEqual(d.code, 0);
    assert.match(d.stderr, /damaged data blob/);
  });

  test('a backup killed with SIGKILL mid-run leaves a repository restic check accepts, and the next backup succeeds', async () => {
    const repo = path.join(tmp, 'kill-repo');
    const env = repoEnv(repo, PW);
    const src = path.join(tmp, 'kill-src');
    fs.mkdirSync(src);
    for (let i = 0; i < 6; i++)
      fs.writeFileSync(path.join(src, `f${i}.bin`), pseudoRandomBytes(20 * 1024 * 1024, 100 + i));
    holdfastOk(['init'], { env });
    const child = holdfastSpawn(['backup', src, '--pack-size', '4'], { env });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Kill once at least one pack is stored but before the backup can finish.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && filesUnder(path.join(repo, 'data')).length < 2)
      await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await exited;
    assert.equal(
      filesUnder(path.join(repo, 'snapshots')).length,
      0,
      'killed before the snapshot was written',
    );
    // The killed process's lock is stale (dead PID on this host): restic unlock removes it.
    restic(['unlock'], { repo, password: PW });
    const check = resticStatus(['check'], { repo, password: PW });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    holdfastOk(['backup', src], { env });
    assert.match(restic(['check', '--read-data'], { repo, password: PW }), /no errors were found/);
    const target = path.join(tmp, 'kill-restore');
    holdfastOk(['restore', 'latest', '--target', target, '--verify'], { env });
    assert.ok(
      fs.readFileSync(path.join(target, src, 'f5.bin')).equals(pseudoRandomBytes(20 * 1024 * 1024, 105)),
    );
  });

  test('a marker string inside backed-up files never appears in any file of the repository', () => {
    const repo = path.join(tmp, 'secret-repo');
    const env = repoEnv(repo, PW);
    const marker = 'MARKER-7d1f0c-confidential';
    const src = path.join(tmp, 'secret-src');
    makeTestTree(src, { marker, largeSize: 1024 * 1024 });
    fs.writeFileSync(path.join(src, `${marker}.txt`), marker.repeat(1000));
    holdfastOk(['init'], { env });
    holdfastOk(['backup', src, '--compression', 'off'], { env });
    holdfastOk(['backup', '--stdin', '--stdin-filename', marker], { env, input: marker.repeat(50) });
    const needle = Buffer.from(marker);
    const files = filesUnder(repo);
    assert.ok(files.length > 5);
    for (const f of files) assert.equal(fs.readFileSync(f).indexOf(needle), -1, `marker found in ${f}`);
  });
});
