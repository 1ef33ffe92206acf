/**
 * REST against `rclone serve restic` on loopback: the conformance suite (v2 listings, and v1
 * through a proxy that answers as a v1 server would), basic auth kept out of every message,
 * HTTPS with a CA given by file, an append-only server (backups work, forget and prune say
 * why they cannot delete and change nothing), and restic check --read-data over rest:.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { isHoldfastError } from '../errors.js';
import { holdfast, holdfastOk, repoEnv } from '../testing/cli.js';
import { pseudoRandomBytes } from '../testing/fixtures.js';
import { restic } from '../testing/restic.js';
import { freePort, type RcloneServer, startRcloneServe } from '../testing/servers.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { contentNamed, describeConformance } from './conformance.js';
import { http1Transport } from './http-transport.js';
import { openBackend } from './open.js';
import { REST_V2, restBackend, restBackendOver } from './rest.js';

const PW = 'rest test password';

function rawWriter(root: string) {
  return async (rel: string, data: Buffer) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  };
}

describeConformance('rest (rclone serve restic)', async () => {
  const tmp = makeTempDir('conf-rest');
  const srv = await startRcloneServe(path.join(tmp, 'served'));
  return {
    backend: restBackend(`${srv.url}repo/`),
    putRaw: rawWriter(path.join(srv.root, 'repo')),
    cleanup: async () => {
      await srv.stop();
      removeDir(tmp);
    },
  };
});

/** Answers list requests as a v1 server would (names only); passes everything else on. */
async function v1Proxy(upstream: RcloneServer): Promise<{ url: string; close(): Promise<void> }> {
  const port = await freePort();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const listing = req.method === 'GET' && req.url!.endsWith('/') && !req.url!.includes('?');
      const headers = { ...req.headers, host: `127.0.0.1:${upstream.port}` };
      if (listing) headers.accept = REST_V2;
      const up = http.request(
        { host: '127.0.0.1', port: upstream.port, method: req.method, path: req.url, headers },
        (ur) => {
          const body: Buffer[] = [];
          ur.on('data', (c: Buffer) => body.push(c));
          ur.on('end', () => {
            let out = Buffer.concat(body);
            const h = { ...ur.headers };
            delete h['transfer-encoding'];
            if (listing && ur.statusCode === 200) {
              const names = (JSON.parse(out.toString()) as { name: string }[]).map((f) => f.name);
              out = Buffer.from(JSON.stringify(names));
              h['content-type'] = 'application/json';
              h['content-length'] = String(out.length);
            }
            res.writeHead(ur.statusCode!, h);
            res.end(req.method === 'HEAD' ? undefined : out);
          });
        },
      );
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describeConformance('rest protocol v1 (names-only listings)', async () => {
  const tmp = makeTempDir('conf-rest-v1');
  const srv = await startRcloneServe(path.join(tmp, 'served'));
  const proxy = await v1Proxy(srv);
  const base = new URL(`${proxy.url}repo/`);
  return {
    backend: restBackendOver(http1Transport(base), `rest:${base.href}`, { listVersion: 1 }),
    putRaw: rawWriter(path.join(srv.root, 'repo')),
    cleanup: async () => {
      await proxy.close();
      await srv.stop();
      removeDir(tmp);
    },
  };
});

describe('rest', () => {
  let tmp: string;
  before(() => (tmp = makeTempDir('rest')));
  after(() => removeDir(tmp));

  test('basic auth from the URL works; a wrong password is a permanent error that never shows it', async () => {
    const srv = await startRcloneServe(path.join(tmp, 'auth'), [
      '--user',
      'alice',
      '--pass',
      'c0rrect-h0rse',
    ]);
    try {
      const good = openBackend(`rest:http://alice:c0rrect-h0rse@127.0.0.1:${srv.port}/repo/`);
      assert.equal(good.location, `rest:http://alice:***@127.0.0.1:${srv.port}/repo/`);
      await good.create();
      await good.close();
      const started = Date.now();
      const bad = openBackend(`rest:http://alice:wr0ng-pa55@127.0.0.1:${srv.port}/repo/`);
      await assert.rejects(bad.list('snapshot'), (err) => {
        assert.ok(isHoldfastError(err, 'BACKEND'));
        assert.match(err.message, /authentication failed/);
        assert.ok(!err.message.includes('wr0ng-pa55') && !String(err.cause ?? '').includes('wr0ng-pa55'));
        return true;
      });
      assert.ok(Date.now() - started < 3000, 'not retried');
      await bad.close();

      const env = repoEnv(`rest:http://alice:c0rrect-h0rse@127.0.0.1:${srv.port}/cli/`, PW);
      const init = holdfastOk(['init'], { env });
      assert.ok(!init.stdout.toString().includes('c0rrect-h0rse'), init.stdout.toString());
      assert.match(init.stdout.toString(), /alice:\*\*\*@/);
      const wrong = holdfast(['snapshots'], {
        env: repoEnv(`rest:http://alice:wr0ng-pa55@127.0.0.1:${srv.port}/cli/`, PW),
      });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /authentication failed/);
      assert.ok(!wrong.stderr.includes('wr0ng-pa55'));
    } finally {
      await srv.stop();
    }
  });

  test('HTTPS with the server certificate trusted through -o rest.cacert', async () => {
    const cert = path.join(tmp, 'cert.pem');
    const key = path.join(tmp, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const srv = await startRcloneServe(path.join(tmp, 'tls'), ['--cert', cert, '--key', key]);
    try {
      const url = `rest:https://127.0.0.1:${srv.port}/repo/`;
      const untrusted = openBackend(url, { retries: 1 });
      await assert.rejects(untrusted.list('key'), /certificate/);
      await untrusted.close();
      const env = repoEnv(url, PW);
      holdfastOk(['-o', `rest.cacert=${cert}`, 'init'], { env });
      const src = path.join(tmp, 'tls-src');
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(src, 'f'), 'over tls');
      holdfastOk(['-o', `rest.cacert=${cert}`, 'backup', src], { env });
      assert.match(
        holdfastOk(['-o', `rest.cacert=${cert}`, 'check', '--read-data'], { env }).stdout.toString(),
        /no errors/,
      );
    } finally {
      await srv.stop();
    }
  });

  test('holdfast backs up over rest; restic check --read-data passes over rest:', async () => {
    const srv = await startRcloneServe(path.join(tmp, 'plain'));
    try {
      const url = `rest:${srv.url}`;
      const env = repoEnv(url, PW);
      const src = path.join(tmp, 'src');
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(src, 'a.bin'), pseudoRandomBytes(2_500_000, 9));
      fs.writeFileSync(path.join(src, 'b.txt'), 'rest');
      holdfastOk(['init'], { env });
      holdfastOk(['backup', src], { env });
      assert.match(restic(['check', '--read-data'], { repo: url, password: PW }), /no errors were found/);
      const target = path.join(tmp, 'restored');
      holdfastOk(['restore', 'latest', '--target', target, '--verify'], { env });
      assert.ok(fs.readFileSync(path.join(target, src, 'a.bin')).equals(pseudoRandomBytes(2_500_000, 9)));
    } finally {
      await srv.stop();
    }
  });

  test('append-only server: backups succeed; deletes are APPEND_ONLY; forget and prune say why and change nothing', async () => {
    const root = path.join(tmp, 'ao');
    const srv = await startRcloneServe(root, ['--append-only']);
    try {
      const url = `rest:${srv.url}`;
      const env = repoEnv(url, PW);
      const src = path.join(tmp, 'ao-src');
      fs.mkdirSync(src);
      holdfastOk(['init'], { env });
      for (let i = 0; i < 3; i++) {
        fs.writeFileSync(path.join(src, `f${i}`), pseudoRandomBytes(200_000, i));
        holdfastOk(['backup', src], { env });
      }
      const listing = () =>
        execFileSync('find', [root, '-type', 'f']).toString().split('\n').sort().join('\n');
      assert.equal(fs.readdirSync(path.join(root, 'locks')).length, 0, 'locks are removed after each backup');
      const before = listing();

      const be = openBackend(url);
      const snap = (await be.list('snapshot'))[0];
      await assert.rejects(be.remove({ type: 'snapshot', name: snap.name }), (err) => {
        assert.ok(isHoldfastError(err, 'APPEND_ONLY'));
        assert.match(err.message, /append-only/);
        return true;
      });
      assert.equal(await be.canDelete!('pack'), false);
      assert.equal(await be.canDelete!('lock'), true);
      const lock = contentNamed('lock', 10);
      await be.save(lock.h, lock.data);
      await be.remove(lock.h);
      // A file saved again (an attempt whose answer was lost) is accepted though the server refuses overwrites.
      const data = await be.load({ type: 'snapshot', name: snap.name });
      await be.save({ type: 'snapshot', name: snap.name }, data);
      await be.close();

      const forget = holdfast(['forget', '--keep-last', '1'], { env });
      assert.equal(forget.code, 1);
      assert.match(
        forget.stderr,
        /^holdfast: the repository at rest:.* is append-only: removing snapshots\/[0-9a-f]{64} is not allowed/,
      );
      const prune = holdfast(['prune'], { env });
      assert.equal(prune.code, 1);
      assert.match(prune.stderr, /is append-only: prune cannot remove anything there and changed nothing/);
      assert.equal(holdfast(['prune', '--dry-run'], { env }).code, 0);
      assert.equal(listing(), before);
      assert.match(restic(['check', '--read-data'], { repo: url, password: PW }), /no errors were found/);
    } finally {
      await srv.stop();
    }
  });
});
