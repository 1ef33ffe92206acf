/**
 * The s3 backend: restic's URL forms, the Backend contract (save, ranged load, stat, paged
 * list, remove, not-found) against the S3 stand-in, and a repository written by holdfast
 * over S3 that holdfast restores and checks and that `restic check --read-data` accepts
 * when restic reads it through its own S3 client.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isHoldfastError } from '../errors.js';
import { holdfast, holdfastOk, repoEnv } from '../testing/cli.js';
import { compareTrees, pseudoRandomBytes } from '../testing/fixtures.js';
import { restic } from '../testing/restic.js';
import {
  recordRequests,
  type S3StandIn,
  STANDIN_CREDENTIALS,
  STANDIN_PACKAGE,
  startS3StandIn,
} from '../testing/s3-standin.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { FileHandle } from './backend.js';
import { describeConformance } from './conformance.js';
import { openBackend } from './open.js';
import { formatS3Location, isAwsEndpoint, parseS3Url, s3EnvOptions } from './s3-client.js';
import { s3Backend } from './s3.js';

const id = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('s3 URLs', () => {
  test('parses restic forms and never keeps credentials', () => {
    assert.deepEqual(parseS3Url('s3:https://minio.lan:9000/backups/hf/prod'), {
      endpoint: 'https://minio.lan:9000',
      bucket: 'backups',
      prefix: 'hf/prod',
    });
    assert.deepEqual(parseS3Url('s3:s3.amazonaws.com/acme-backups'), {
      endpoint: 'https://s3.amazonaws.com',
      bucket: 'acme-backups',
      prefix: '',
    });
    assert.equal(parseS3Url('s3:http://127.0.0.1:9000/bkt/').prefix, '');
    const loc = parseS3Url('s3:https://AKIAEXAMPLE:s3cr3t@host.example/bkt/p');
    assert.equal(formatS3Location(loc), 's3:https://host.example/bkt/p');
    assert.equal(
      s3Backend('s3:https://AKIAEXAMPLE:s3cr3t@host.example/bkt/p').location.includes('s3cr3t'),
      false,
    );
    assert.throws(
      () => parseS3Url('s3:https://host'),
      (e) => isHoldfastError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => parseS3Url('s3:https://host/B'),
      (e) => isHoldfastError(e, 'INVALID_ARGUMENT'),
    );
  });

  test('path style is automatic for non-AWS endpoints; region and path style come from the environment', async () => {
    assert.equal(isAwsEndpoint('https://s3.eu-west-2.amazonaws.com'), true);
    assert.equal(isAwsEndpoint('http://127.0.0.1:9000'), false);
    assert.deepEqual(s3EnvOptions({ AWS_DEFAULT_REGION: 'eu-west-2', HOLDFAST_S3_PATH_STYLE: 'true' }), {
      region: 'eu-west-2',
      pathStyle: true,
    });
    const aws = s3Backend('s3:https://s3.eu-west-2.amazonaws.com/acme-backups');
    assert.equal(await aws.client.config.region(), 'eu-west-2');
    assert.equal(aws.client.config.forcePathStyle, false);
    const minio = s3Backend('s3:http://127.0.0.1:9000/bkt', { region: 'eu-central-1' });
    assert.equal(await minio.client.config.region(), 'eu-central-1');
    assert.equal(minio.client.config.forcePathStyle, true);
    await aws.close();
    await minio.close();
  });
});

for (const stacked of [false, true]) {
  describeConformance(
    `s3${stacked ? ' with retries and limits' : ''} (against the S3 stand-in ${STANDIN_PACKAGE})`,
    async () => {
      const s3 = await startS3StandIn(['conformance']);
      const url = s3.url('conformance', 'a/repo');
      const be = stacked
        ? openBackend(url, { s3: { credentials: STANDIN_CREDENTIALS }, retries: 2, retryBaseDelayMs: 10 })
        : s3Backend(url, { credentials: STANDIN_CREDENTIALS, listPageSize: 3 });
      const raw = s3Backend(url, { credentials: STANDIN_CREDENTIALS });
      return {
        backend: be,
        putRaw: async (rel: string, data: Buffer) => {
          await raw.client.send(
            new PutObjectCommand({ Bucket: 'conformance', Key: `a/repo/${rel}`, Body: data }),
          );
        },
        cleanup: async () => {
          await raw.close();
          await s3.close();
        },
      };
    },
    { retriedRemove: stacked },
  );
}

describe(`s3 backend (against the S3 stand-in ${STANDIN_PACKAGE})`, () => {
  let s3: S3StandIn;
  before(async () => {
    s3 = await startS3StandIn(['backend-ops', 'cli-repo']);
  });
  after(async () => s3?.close());

  test('saves, loads ranges, stats, lists page by page and removes files', async () => {
    const be = s3Backend(s3.url('backend-ops', 'some/prefix'), {
      credentials: STANDIN_CREDENTIALS,
      listPageSize: 2,
    });
    const requests = recordRequests(be.client);
    await be.create();
    const blobs = [0, 1, 2, 3, 4].map((i) => pseudoRandomBytes(1000 + i, i + 1));
    const handles: FileHandle[] = blobs.map((b) => ({ type: 'pack', name: id(b) }));
    for (let i = 0; i < blobs.length; i++) await be.save(handles[i], blobs[i]);
    const snap = pseudoRandomBytes(77, 9);
    await be.save({ type: 'snapshot', name: id(snap) }, snap);
    await be.save({ type: 'config', name: '' }, Buffer.from('config bytes'));

    assert.equal(be.keyOf(handles[0]), `some/prefix/data/${handles[0].name.slice(0, 2)}/${handles[0].name}`);
    assert.deepEqual(await be.load(handles[2]), blobs[2]);
    assert.deepEqual(await be.load(handles[2], 10, 20), blobs[2].subarray(10, 30));
    assert.deepEqual(await be.load(handles[2], 1000), blobs[2].subarray(1000));
    assert.deepEqual(await be.load({ type: 'config', name: '' }), Buffer.from('config bytes'));
    assert.deepEqual(await be.stat(handles[4]), { name: handles[4].name, size: 1004 });

    const before = requests.length;
    const packs = await be.list('pack');
    const listCalls = requests.slice(before).filter((r) => r.method === 'GET').length;
    assert.equal(listCalls, 3, 'five packs at two per page take three list requests');
    assert.deepEqual(packs.map((p) => p.name).sort(), handles.map((h) => h.name).sort());
    assert.deepEqual(
      (await be.list('snapshot')).map((f) => f.name),
      [id(snap)],
    );
    assert.deepEqual(await be.list('index'), []);
    assert.deepEqual(await be.list('config'), []);

    await be.remove(handles[0]);
    assert.equal((await be.list('pack')).length, 4);
    for (const op of [() => be.load(handles[0]), () => be.stat(handles[0]), () => be.remove(handles[0])]) {
      await assert.rejects(op(), (err) => be.isNotFound(err) && isHoldfastError(err, 'NOT_FOUND'));
    }
    await assert.rejects(be.create(), (err) => isHoldfastError(err, 'REPO_EXISTS'));
    const puts = requests.filter((r) => r.method === 'PUT');
    assert.ok(
      puts.every((r) => r.headers['content-md5']),
      'every PUT carries Content-MD5',
    );
    assert.ok(
      puts.every((r) => !r.headers['x-amz-object-lock-mode']),
      'no Object Lock without immutable',
    );
    await be.close();
  });

  test('an unreachable endpoint is a clear BACKEND error without secrets', async () => {
    const be = s3Backend('s3:http://127.0.0.1:1/nobucket', {
      credentials: { accessKeyId: 'AKIAHIDDEN', secretAccessKey: 'very-secret-key' },
    });
    await assert.rejects(be.stat({ type: 'config', name: '' }), (err) => {
      assert.ok(isHoldfastError(err, 'BACKEND'), String(err));
      assert.ok(!err.message.includes('very-secret-key'));
      assert.match(err.message, /config at s3:http:\/\/127\.0\.0\.1:1\/nobucket/);
      return true;
    });
    await be.close();
  });

  test('holdfast init, backup, restore and check over s3; restic check --read-data accepts it', () => {
    const tmp = makeTempDir('s3-cli');
    try {
      const src = path.join(tmp, 'src');
      fs.mkdirSync(path.join(src, 'dir'), { recursive: true });
      fs.writeFileSync(path.join(src, 'big.bin'), pseudoRandomBytes(3_000_000, 5));
      fs.writeFileSync(path.join(src, 'dir', 'small.txt'), 'hello s3\n');
      fs.writeFileSync(path.join(src, 'name with spaces ü.txt'), 'unicode');
      const url = s3.url('cli-repo', 'holdfast/repo');
      const env = repoEnv(url, 'pw', {
        AWS_ACCESS_KEY_ID: STANDIN_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: STANDIN_CREDENTIALS.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      });
      holdfastOk(['init'], { env });
      holdfastOk(['backup', src, '--host', 's3-test'], { env });
      fs.appendFileSync(path.join(src, 'dir', 'small.txt'), 'second\n');
      holdfastOk(['backup', src, '--host', 's3-test'], { env });
      const target = path.join(tmp, 'restore');
      holdfastOk(['restore', `latest:${src}`, '--target', target], { env });
      assert.deepEqual(compareTrees(src, target, { mtimeToleranceNs: 1000n, skipRootMeta: true }), []);
      const check = holdfast(['check', '--read-data'], { env });
      assert.equal(check.code, 0, check.stderr);

      const resticEnv = { repo: url, password: 'pw' };
      process.env.AWS_ACCESS_KEY_ID = STANDIN_CREDENTIALS.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = STANDIN_CREDENTIALS.secretAccessKey;
      const out = restic(['check', '--read-data'], resticEnv);
      assert.match(out, /no errors were found/);
      const snaps = JSON.parse(restic(['snapshots', '--json'], resticEnv)) as unknown[];
      assert.equal(snaps.length, 2);
      assert.equal(
        restic(['dump', 'latest', path.join(src, 'dir', 'small.txt')], resticEnv),
        'hello s3\nsecond\n',
      );
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      removeDir(tmp);
    }
  });
});
