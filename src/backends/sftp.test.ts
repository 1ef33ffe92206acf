/**
 * SFTP against a real OpenSSH server on loopback: the conformance suite; host keys that are
 * unknown or changed refuse the connection and name the fingerprint; a refused key is a
 * clear, permanent error; and a holdfast init/backup/restore/check round trip through the
 * CLI that restic then checks with --read-data over its own sftp client.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isHoldfastError } from '../errors.js';
import { holdfast, holdfastOk, repoEnv } from '../testing/cli.js';
import { compareTrees, pseudoRandomBytes } from '../testing/fixtures.js';
import { restic } from '../testing/restic.js';
import { type Sshd, startSshd } from '../testing/servers.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { contentNamed, describeConformance } from './conformance.js';
import { fingerprint } from './known-hosts.js';
import { openBackend } from './open.js';
import { sftpBackend } from './sftp.js';

const PW = 'sftp test password';

let sshd: Sshd | undefined;
let starting: Promise<Sshd> | undefined;
const server = () => (starting ??= startSshd().then((s) => (sshd = s)));

after(async () => {
  await sshd?.stop();
});

describeConformance('sftp', async () => {
  const s = await server();
  const tmp = makeTempDir('conf-sftp');
  const dir = path.join(tmp, 'repo');
  return {
    backend: sftpBackend(`sftp://${s.user}@127.0.0.1:${s.port}/${dir}`, {
      keyFile: s.userKey,
      knownHostsFile: s.knownHosts,
    }),
    putRaw: async (rel: string, data: Buffer) => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), data);
    },
    cleanup: async () => removeDir(tmp),
  };
});

describe('sftp', () => {
  let s: Sshd;
  let tmp: string;
  before(async () => {
    s = await server();
    tmp = makeTempDir('sftp');
  });
  after(() => removeDir(tmp));

  const hostPub = () => Buffer.from(s.hostKeyPub.split(' ')[1], 'base64');

  test('an unknown host key is refused with its fingerprint, unless explicitly accepted', async () => {
    const empty = path.join(tmp, 'empty_known_hosts');
    fs.writeFileSync(empty, '');
    const url = `sftp://${s.user}@127.0.0.1:${s.port}/${tmp}/unknown`;
    const be = openBackend(url, { sftp: { keyFile: s.userKey, knownHostsFile: empty } });
    await assert.rejects(be.create(), (err) => {
      assert.ok(isHoldfastError(err, 'HOST_KEY'), String(err));
      assert.ok(err.message.includes(fingerprint(hostPub())), err.message);
      assert.match(err.message, /not in .*empty_known_hosts.*accept-unknown-host/);
      return true;
    });
    await be.close();
    const ok = openBackend(url, {
      sftp: { keyFile: s.userKey, knownHostsFile: empty, acceptUnknownHost: true },
    });
    await ok.create();
    await ok.close();
    assert.ok(fs.existsSync(path.join(tmp, 'unknown', 'data', 'ff')));
  });

  test('a changed host key is refused even with accept-unknown-host', async () => {
    const wrong = path.join(tmp, 'wrong_known_hosts');
    fs.writeFileSync(
      wrong,
      `[127.0.0.1]:${s.port} ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64')}\n`,
    );
    const be = sftpBackend(`sftp://${s.user}@127.0.0.1:${s.port}/${tmp}/changed`, {
      keyFile: s.userKey,
      knownHostsFile: wrong,
      acceptUnknownHost: true,
    });
    await assert.rejects(
      be.list('snapshot'),
      (err) => isHoldfastError(err, 'HOST_KEY') && /does not match/.test(err.message),
    );
    await be.close();
  });

  test('a key the server does not accept is a permanent error naming the key, not retried', async () => {
    const other = path.join(tmp, 'other_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const started = Date.now();
    const be = openBackend(`sftp://${s.user}@127.0.0.1:${s.port}/${tmp}/refused`, {
      sftp: { keyFile: other, knownHostsFile: s.knownHosts },
    });
    await assert.rejects(
      be.list('lock'),
      (err) =>
        isHoldfastError(err, 'BACKEND') &&
        err.message.includes(other) &&
        /refused the login/.test(err.message),
    );
    assert.ok(Date.now() - started < 5000, 'not retried');
    await be.close();
  });

  test('the connection is opened again after it drops', async () => {
    const be = openBackend(`sftp://${s.user}@127.0.0.1:${s.port}/${tmp}/reconnect`, {
      sftp: { keyFile: s.userKey, knownHostsFile: s.knownHosts },
      retryBaseDelayMs: 10,
    });
    await be.create();
    const f = contentNamed('snapshot', 200);
    await be.save(f.h, f.data);
    // Kill the session processes of this test's sshd: the next operation must reconnect.
    const pids = execFileSync('pgrep', ['-P', String(s.pid)])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    assert.ok((await be.load(f.h)).equals(f.data));
    await be.close();
  });

  test('holdfast init, backup, restore and check through the CLI; restic check --read-data over its own sftp', () => {
    const src = path.join(tmp, 'src');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'sub', 'big.bin'), pseudoRandomBytes(3_000_000, 42));
    fs.writeFileSync(path.join(src, 'small.txt'), 'hello over sftp\n');
    fs.symlinkSync('small.txt', path.join(src, 'link'));
    const repoDir = path.join(tmp, 'cli-repo');
    const url = `sftp:${s.user}@127.0.0.1:${repoDir}`;
    const env = repoEnv(`sftp://${s.user}@127.0.0.1:${s.port}/${repoDir}`, PW, {
      HOLDFAST_SFTP_KEY: s.userKey,
      HOLDFAST_SFTP_KNOWN_HOSTS: s.knownHosts,
    });
    holdfastOk(['init'], { env });
    holdfastOk(['backup', src, '--host', 'sftp-test'], { env });
    const target = path.join(tmp, 'restored');
    holdfastOk(['restore', 'latest', '--target', target, '--verify'], { env });
    assert.deepEqual(compareTrees(src, path.join(target, src), { mtimeToleranceNs: 1000n }), []);
    assert.match(holdfastOk(['check', '--read-data'], { env }).stdout.toString(), /no errors/);

    const sshCommand = `ssh -i ${s.userKey} -p ${s.port} -o UserKnownHostsFile=${s.knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes ${s.user}@127.0.0.1 -s sftp`;
    const out = restic(['-o', `sftp.command=${sshCommand}`, 'check', '--read-data'], {
      repo: url,
      password: PW,
    });
    assert.match(out, /no errors were found/);
    // And the other way round: restic writes over sftp, holdfast reads it.
    restic(['-o', `sftp.command=${sshCommand}`, 'backup', path.join(src, 'small.txt')], {
      repo: url,
      password: PW,
    });
    const snaps = JSON.parse(holdfastOk(['snapshots', '--json'], { env }).stdout.toString());
    assert.equal(snaps.length, 2);
  });

  test('an unreachable server fails with a clear error after the retries', () => {
    const env = repoEnv(`sftp://${s.user}@127.0.0.1:1/${tmp}/none`, PW, {
      HOLDFAST_SFTP_KEY: s.userKey,
      HOLDFAST_SFTP_KNOWN_HOSTS: s.knownHosts,
    });
    const r = holdfast(['-o', 'retries=2', 'snapshots'], { env });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^holdfast: sftp: cannot connect to \[127\.0\.0\.1\]:1: .*ECONNREFUSED.*gave up after 2 attempts/,
    );
  });
});
