/**
 * The rclone backend (`rclone:remote:path`, HTTP/2 to `rclone serve restic --stdio`): the
 * conformance suite, the child stopped on close, a clear error when rclone cannot start or
 * serve the remote (also for many requests at once), and a CLI round trip that restic checks
 * through its own rclone backend.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isHoldfastError } from '../errors.js';
import { holdfastOk, repoEnv } from '../testing/cli.js';
import { compareTrees, pseudoRandomBytes } from '../testing/fixtures.js';
import { restic } from '../testing/restic.js';
import { rcloneConfigFile } from '../testing/servers.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { contentNamed, describeConformance } from './conformance.js';
import { openBackend } from './open.js';
import { rcloneBackend } from './rclone.js';

const PW = 'rclone test password';
process.env.RCLONE_CONFIG = rcloneConfigFile();

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describeConformance('rclone (serve restic --stdio)', async () => {
  const tmp = makeTempDir('conf-rclone');
  const dir = path.join(tmp, 'repo');
  return {
    backend: rcloneBackend(`:local:${dir}`),
    putRaw: async (rel: string, data: Buffer) => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), data);
    },
    cleanup: async () => removeDir(tmp),
  };
});

describe('rclone', () => {
  let tmp: string;
  before(() => (tmp = makeTempDir('rclone')));
  after(() => removeDir(tmp));

  test('rclone starts on first use and is stopped by close()', async () => {
    const be = rcloneBackend(`:local:${tmp}/lifecycle`);
    assert.equal(be.pid, undefined);
    await be.create();
    const f = contentNamed('key', 123);
    await be.save(f.h, f.data);
    const pid = be.pid!;
    assert.ok(alive(pid));
    await be.close();
    assert.equal(be.pid, undefined);
    assert.ok(!alive(pid), 'rclone still running after close');
    // Usable again afterwards: a new child starts.
    assert.ok((await be.load(f.h)).equals(f.data));
    await be.close();
  });

  test('a remote rclone cannot serve is a clear error quoting rclone, not retried for long', async () => {
    const started = Date.now();
    const be = openBackend('rclone:no-such-remote:repo');
    await assert.rejects(be.list('snapshot'), (err) => {
      assert.ok(isHoldfastError(err, 'BACKEND'), String(err));
      assert.match(
        err.message,
        /rclone \(rclone\) for rclone:no-such-remote:repo exited with code \d+: .*no-such-remote/,
      );
      return true;
    });
    assert.ok(Date.now() - started < 10_000);
    await be.close();
    const missing = openBackend('rclone:x:y', { rclone: { program: '/nonexistent/rclone' } });
    await assert.rejects(missing.list('key'), /could not start/);
    await missing.close();
  });

  test('rclone exiting under several requests at once gives each the clear error, and Node survives', async () => {
    // Over stdin and stdout joined by a JS stream wrapper, HTTP/2 writing while rclone exited
    // could fail a Node-internal assertion and end the process; the stderr tail could be
    // missing if the exit was seen before it was read.
    const bes = Array.from({ length: 6 }, () => openBackend('rclone:no-such-remote:repo'));
    const results = await Promise.allSettled(
      bes.flatMap((be) => (['snapshot', 'key', 'index', 'lock'] as const).map((t) => be.list(t))),
    );
    await Promise.all(bes.map((be) => be.close()));
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(isHoldfastError(r.reason, 'BACKEND'), String(r.reason));
      assert.match(r.reason.message, /exited with code \d+: .*no-such-remote/);
    }
  });

  test('holdfast init, backup, restore and check through the CLI; restic check --read-data through rclone:', () => {
    const repoDir = path.join(tmp, 'cli-repo');
    const url = `rclone::local:${repoDir}`;
    const env = repoEnv(url, PW, { RCLONE_CONFIG: rcloneConfigFile() });
    const src = path.join(tmp, 'src');
    fs.mkdirSync(path.join(src, 'd'), { recursive: true });
    fs.writeFileSync(path.join(src, 'd', 'big.bin'), pseudoRandomBytes(2_000_000, 5));
    fs.writeFileSync(path.join(src, 'note.txt'), 'via rclone\n');
    holdfastOk(['init'], { env });
    holdfastOk(['backup', src], { env });
    const target = path.join(tmp, 'restored');
    holdfastOk(['restore', 'latest', '--target', target, '--verify'], { env });
    assert.deepEqual(compareTrees(src, path.join(target, src), { mtimeToleranceNs: 1000n }), []);
    assert.match(holdfastOk(['check', '--read-data'], { env }).stdout.toString(), /no errors/);
    assert.match(restic(['check', '--read-data'], { repo: url, password: PW }), /no errors were found/);
  });
});
