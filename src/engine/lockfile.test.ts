import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLock, encodeLock, type LockInfo } from './lockfile.js';
import { isHoldfastError } from '../errors.js';

const integrity = (e: unknown) => isHoldfastError(e, 'INTEGRITY');
const T = '2026-11-22T17:27:32.010687373Z';

test('a lock restic 0.14 wrote as root re-encodes to the same bytes (spec example)', () => {
  const stored = `{"time":"${T}","exclusive":false,"hostname":"vm","username":"root","pid":20345}`;
  const l = decodeLock(Buffer.from(stored));
  assert.deepEqual(l, { time: T, exclusive: false, hostname: 'vm', username: 'root', pid: 20345 });
  assert.equal(encodeLock(l).toString(), stored);
});

test('uid and gid are written after pid, and only when not 0; there is no trailing newline', () => {
  const l: LockInfo = {
    gid: 100,
    uid: 1000,
    pid: 7,
    username: 'u<',
    hostname: 'h',
    exclusive: true,
    time: T,
  };
  assert.equal(
    encodeLock(l).toString(),
    `{"time":"${T}","exclusive":true,"hostname":"h","username":"u\\u003c","pid":7,"uid":1000,"gid":100}`,
  );
  assert.equal(
    encodeLock({ ...l, uid: 0, gid: 0 })
      .toString()
      .endsWith('"pid":7}'),
    true,
  );
  assert.deepEqual(decodeLock(encodeLock(l)), l);
});

test('decoding is tolerant like Go: case-insensitive names, unknown fields and nulls ignored', () => {
  const l = decodeLock(
    Buffer.from(`{"TIME":"2024-01-01T00:00:00+00:00","Exclusive":true,"hostname":null,"PID":1,"x":[]}`),
  );
  assert.deepEqual(l, { time: '2024-01-01T00:00:00Z', exclusive: true, hostname: '', username: '', pid: 1 });
});

test('malformed locks are integrity errors', () => {
  for (const bad of ['[]', 'nope', '{"exclusive":"yes"}', '{"pid":1.5}', '{"uid":-1}', '{"time":"noon"}']) {
    assert.throws(() => decodeLock(Buffer.from(bad)), integrity, bad);
  }
});
