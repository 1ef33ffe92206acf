/**
 * `holdfast unlock`: a lock left by a dead process on this host (one a killed restic left,
 * one written through the engine) is removed, a live one stays unless `--remove-all`, and a
 * command blocked by a lock names its holder (host, PID, age).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { localBackend } from '../backends/local.js';
import { nowGoTime } from '../engine/keys.js';
import { encodeLock, type LockInfo } from '../engine/lockfile.js';
import { openRepository } from '../engine/repository.js';
import { holdfast, holdfastOk, repoEnv } from '../testing/cli.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';

const PW = 'unlock password';

describe('unlock', () => {
  let tmp: string;
  let repo: string;
  let data: string;

  // Lock files only: restic writes each under a temporary name first, then renames it.
  const locks = () =>
    fs
      .readdirSync(path.join(repo, 'locks'))
      .filter((n) => /^[0-9a-f]{64}$/.test(n))
      .sort();

  async function writeLock(l: Partial<LockInfo>): Promise<string> {
    const r = await openRepository(localBackend(repo), Buffer.from(PW));
    const lock: LockInfo = {
      time: nowGoTime(),
      exclusive: false,
      hostname: os.hostname(),
      username: 'tester',
      pid: process.pid,
      ...l,
    };
    try {
      return await r.saveFile('lock', encodeLock(lock));
    } finally {
      await r.backend.close();
    }
  }

  before(() => {
    tmp = makeTempDir('unlock');
    repo = path.join(tmp, 'repo');
    data = path.join(tmp, 'data');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'f.txt'), 'unlock test');
    holdfastOk(['init'], { env: repoEnv(repo, PW) });
  });
  after(() => removeDir(tmp));

  test('removes the lock of a restic killed with SIGKILL, keeps a live one', async () => {
    const child = spawn('restic', ['--no-cache', '-r', repo, 'backup', '--stdin'], {
      env: { ...repoEnv(repo, PW), RESTIC_PASSWORD: PW },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    for (let i = 0; i < 200 && locks().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(locks().length, 1, 'restic took no lock');
    const [resticLock] = locks();
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const live = await writeLock({ pid: process.pid });
    const out = holdfastOk(['unlock'], { env: repoEnv(repo, PW) }).stdout.toString();
    assert.match(out, new RegExp(`removed lock ${resticLock.slice(0, 8)}: .*PID ${child.pid}`));
    assert.match(out, /successfully removed 1 locks/);
    assert.deepEqual(locks(), [live]);
  });

  test('an engine-written lock of a dead PID, or one older than 30 minutes elsewhere, is stale; --remove-all takes the rest', async () => {
    const deadPid = spawnSync('true').pid;
    const dead = await writeLock({ pid: deadPid, exclusive: true });
    const old = await writeLock({ hostname: 'elsewhere', time: '2001-02-03T04:05:06Z' });
    const [live] = locks().filter((l) => l !== dead && l !== old);
    const out = holdfastOk(['unlock', '--json'], { env: repoEnv(repo, PW) }).stdout.toString();
    const removed = (JSON.parse(out) as { removed: { id: string }[] }).removed.map((r) => r.id).sort();
    assert.deepEqual(removed, [dead, old].sort());
    assert.deepEqual(locks(), [live]);

    holdfastOk(['unlock', '--remove-all'], { env: repoEnv(repo, PW) });
    assert.deepEqual(locks(), []);
  });

  test('a command blocked by a lock names its holder: host, PID and age', async () => {
    const holder = await writeLock({ exclusive: true, pid: process.pid, hostname: os.hostname() });
    const blocked = holdfast(['backup', data], { env: repoEnv(repo, PW) });
    assert.equal(blocked.code, 11);
    assert.match(blocked.stderr, new RegExp(`PID ${process.pid} on host "${os.hostname()}"`));
    assert.match(blocked.stderr, /\d+ min ago/);
    assert.match(blocked.stderr, /holdfast unlock/);
    // Not stale: plain unlock leaves it, --remove-all clears it and the backup goes through.
    holdfastOk(['unlock'], { env: repoEnv(repo, PW) });
    assert.deepEqual(locks(), [holder]);
    holdfastOk(['unlock', '--remove-all'], { env: repoEnv(repo, PW) });
    holdfastOk(['backup', data], { env: repoEnv(repo, PW) });
    assert.deepEqual(locks(), []);
  });
});
