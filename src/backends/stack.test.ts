/**
 * The decorators on their own: retry (backoff, what it retries and what it never retries,
 * truncated and damaged reads), limit (parallelism, bandwidth), timeout, fault injection
 * (seeded), saveFile through all of them, known_hosts matching and URL handling.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HoldfastError, isHoldfastError } from '../errors.js';
import { appendOnlyBackend } from './append-only.js';
import type { Backend, FileHandle } from './backend.js';
import { notFoundError, permanentError, transientError } from './backend-error.js';
import { faultInjectingBackend, seededRandom } from './fault-injection.js';
import { checkKnownHost, fingerprint } from './known-hosts.js';
import { limitBackend, RateLimiter } from './limit.js';
import { localBackend } from './local.js';
import { applyBackendSettings } from './options.js';
import { redactUrl } from './redact.js';
import { restBackend } from './rest.js';
import { retryBackend } from './retry.js';
import { parseSftpUrl } from './sftp.js';
import { timeoutBackend } from './timeout.js';

/** An in-memory backend whose operations can be scripted to fail. */
function memory(script: { fail?: (op: string, n: number) => unknown } = {}) {
  const files = new Map<string, Buffer>();
  const calls: Record<string, number> = {};
  const key = (h: FileHandle) => `${h.type}/${h.name}`;
  const hit = (op: string) => {
    calls[op] = (calls[op] ?? 0) + 1;
    const err = script.fail?.(op, calls[op]);
    if (err) throw err;
  };
  const be: Backend = {
    location: 'memory',
    create: async () => hit('create'),
    async save(h, data) {
      hit('save');
      files.set(key(h), Buffer.from(data));
    },
    async saveFile(h, file, length) {
      hit('saveFile');
      const data = await fs.promises.readFile(file);
      if (data.length !== length) throw permanentError(`${file} holds ${data.length} bytes, not ${length}`);
      files.set(key(h), data);
    },
    async load(h, offset = 0, length) {
      hit('load');
      const d = files.get(key(h));
      if (!d) throw notFoundError(key(h));
      return d.subarray(offset, length === undefined ? undefined : offset + length);
    },
    async stat(h) {
      hit('stat');
      const d = files.get(key(h));
      if (!d) throw notFoundError(key(h));
      return { name: h.name, size: d.length };
    },
    async list(type) {
      hit('list');
      return [...files]
        .filter(([k]) => k.startsWith(`${type}/`))
        .map(([k, d]) => ({ name: k.split('/')[1], size: d.length }));
    },
    async remove(h) {
      hit('remove');
      if (!files.delete(key(h))) throw notFoundError(key(h));
    },
    isNotFound: (err) => isHoldfastError(err, 'NOT_FOUND'),
    close: async () => undefined,
  };
  return { be, files, calls };
}

const file = (size = 100) => {
  const data = randomBytes(size);
  return { h: { type: 'pack' as const, name: createHash('sha256').update(data).digest('hex') }, data };
};

describe('retry', () => {
  test('retries transient failures with growing, jittered delays, then succeeds', async () => {
    const m = memory({ fail: (op, n) => op === 'save' && n <= 3 && transientError('connection reset') });
    const delays: number[] = [];
    const be = retryBackend(m.be, {
      baseDelayMs: 4,
      random: () => 0.5,
      onRetry: (_w, _a, _e, d) => delays.push(d),
    });
    const f = file();
    await be.save(f.h, f.data);
    assert.equal(m.calls.save, 4);
    assert.deepEqual(delays, [3, 6, 12]);
  });

  test('never retries "not found", permanent errors or refused deletes', async () => {
    for (const err of [
      notFoundError('x'),
      permanentError('authentication failed'),
      new HoldfastError('APPEND_ONLY', 'append-only'),
      Object.assign(new Error('denied'), { code: 'EACCES' }),
    ]) {
      const m = memory({ fail: () => err });
      const be = retryBackend(m.be, { baseDelayMs: 1 });
      await assert.rejects(be.stat(file().h), (e) => e === err);
      assert.equal(m.calls.stat, 1, String(err));
    }
  });

  test('gives up after the configured attempts and says so', async () => {
    const m = memory({ fail: () => transientError('HTTP 503') });
    const be = retryBackend(m.be, { attempts: 3, baseDelayMs: 1 });
    await assert.rejects(be.list('index'), /HTTP 503 \(gave up after 3 attempts\)/);
    assert.equal(m.calls.list, 3);
  });

  test('a truncated range or a whole file that does not hash to its name is read again', async () => {
    const m = memory();
    const f = file(1000);
    m.files.set(`pack/${f.h.name}`, f.data);
    let n = 0;
    const flaky: Backend = {
      ...m.be,
      load: async (h, o, l) => {
        const d = await m.be.load(h, o, l);
        return n++ % 2 === 0 ? d.subarray(0, d.length - 1) : d;
      },
    };
    const be = retryBackend(flaky, { baseDelayMs: 1 });
    assert.ok((await be.load(f.h, 10, 100)).equals(f.data.subarray(10, 110)));
    assert.ok((await be.load(f.h)).equals(f.data));
    assert.equal(n, 4);
  });

  test('a file damaged in storage is returned after the retries, for the caller to report', async () => {
    const m = memory();
    const f = file(100);
    m.files.set(`pack/${f.h.name}`, Buffer.from('damaged'));
    const be = retryBackend(m.be, { attempts: 2, baseDelayMs: 1 });
    assert.equal((await be.load(f.h)).toString(), 'damaged');
  });

  test('a retried remove that finds the file gone succeeded (its first answer was lost)', async () => {
    const m = memory();
    const f = file();
    await m.be.save(f.h, f.data);
    const lossy: Backend = {
      ...m.be,
      remove: async (h) => {
        const first = !m.calls.remove;
        await m.be.remove(h);
        if (first) throw transientError('answer lost');
      },
    };
    await retryBackend(lossy, { baseDelayMs: 1 }).remove(f.h);
    assert.equal(m.files.size, 0);
  });
});

describe('limit and timeout', () => {
  test('no more than `connections` operations run at once', async () => {
    let active = 0;
    let peak = 0;
    const m = memory();
    const slow: Backend = {
      ...m.be,
      stat: async (h) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return { name: h.name, size: 0 };
      },
    };
    const be = limitBackend(slow, { connections: 3 });
    await Promise.all(Array.from({ length: 20 }, () => be.stat(file().h)));
    assert.equal(peak, 3);
  });

  test('the bandwidth limit holds transfers to the rate after a one-second burst', async () => {
    let now = 0;
    const waits: number[] = [];
    const rl = new RateLimiter(1000, () => now);
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((fn: () => void, ms: number) => {
      waits.push(ms);
      now += ms;
      return realSetTimeout(fn, 0);
    }) as typeof setTimeout;
    try {
      await rl.take(1000); // the burst allowance
      await rl.take(500);
      await rl.take(2000);
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    assert.deepEqual(waits, [500, 2000]);
  });

  test('an operation over its time limit fails with a transient error', async () => {
    const m = memory();
    const hang: Backend = { ...m.be, list: () => new Promise(() => undefined) };
    const be = timeoutBackend(hang, { timeoutMs: 30 });
    await assert.rejects(
      be.list('lock'),
      (err) => isHoldfastError(err, 'BACKEND') && /timed out/.test(err.message),
    );
  });
});

describe('fault injection', () => {
  test('the same seed injects the same faults', async () => {
    const run = async (seed: number) => {
      const be = faultInjectingBackend(memory().be, { seed, failureRate: 0.3, lostResponseRate: 0.2 });
      const out: string[] = [];
      for (let i = 0; i < 40; i++) {
        const f = file(10);
        out.push(
          await be.save(f.h, f.data).then(
            () => 'ok',
            (e: Error) => (e.message.includes('lost') ? 'lost' : 'failed'),
          ),
        );
      }
      return out;
    };
    assert.deepEqual(await run(7), await run(7));
    assert.notDeepEqual(await run(7), await run(8));
    const r = seededRandom(1);
    assert.ok(Array.from({ length: 1000 }, r).every((x) => x >= 0 && x < 1));
  });

  test('lost responses leave the file stored; truncated loads return a prefix', async () => {
    const m = memory();
    const be = faultInjectingBackend(m.be, { seed: 3, lostResponseRate: 1, truncateRate: 1 });
    const f = file(1000);
    await assert.rejects(be.save(f.h, f.data), /answer was lost/);
    assert.ok(m.files.has(`pack/${f.h.name}`));
    const got = await be.load(f.h);
    assert.ok(got.length < 1000 && f.data.subarray(0, got.length).equals(got));
    assert.equal(be.faults.truncations, 1);
  });
});

describe('saveFile through the decorators', () => {
  /** A local file holding `f.data`, removed after `fn`. */
  async function withFile(f: { data: Buffer }, fn: (file: string) => Promise<void>): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-savefile-'));
    try {
      const file = path.join(dir, 'f');
      fs.writeFileSync(file, f.data);
      await fn(file);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  test('absent from every decorator when the inner backend has none', () => {
    const bare: Backend = { ...memory().be, saveFile: undefined };
    const stack = [
      timeoutBackend(bare),
      limitBackend(bare),
      retryBackend(bare),
      appendOnlyBackend(bare),
      faultInjectingBackend(bare, { seed: 1 }),
      appendOnlyBackend(retryBackend(limitBackend(timeoutBackend(bare)))),
    ];
    for (const be of stack) assert.equal(be.saveFile, undefined);
  });

  test('localPath goes through the openBackend stack to the local file; fault injection hides it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-local-'));
    try {
      const local = localBackend(dir);
      const h: FileHandle = { type: 'pack', name: 'ab'.repeat(32) };
      const stacked = appendOnlyBackend(retryBackend(limitBackend(timeoutBackend(local))));
      assert.equal(stacked.localPath?.(h), local.localPath!(h));
      assert.ok(local.localPath!(h).startsWith(dir));
      assert.equal(faultInjectingBackend(local, { seed: 1 }).localPath, undefined);
      assert.equal(timeoutBackend({ ...memory().be, localPath: undefined }).localPath, undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('retried like save (transient failures, lost answers), never when permanent', async () => {
    const m = memory({ fail: (op, n) => op === 'saveFile' && n <= 2 && transientError('connection reset') });
    const faulty = faultInjectingBackend(m.be, { seed: 5, lostResponseRate: 0.5 });
    const be = retryBackend(limitBackend(timeoutBackend(faulty)), { attempts: 12, baseDelayMs: 1 });
    const f = file(5000);
    await withFile(f, async (p) => {
      await be.saveFile!(f.h, p, f.data.length);
      assert.ok(m.files.get(`pack/${f.h.name}`)!.equals(f.data));
      assert.ok(m.calls.saveFile >= 3);
      const calls = m.calls.saveFile;
      await assert.rejects(be.saveFile!(f.h, p, f.data.length + 1), /holds 5000 bytes, not 5001/);
      assert.equal(m.calls.saveFile, calls + 1, 'a permanent error is not retried');
    });
    assert.equal(m.calls.save, undefined, 'save itself was never called');
  });

  test('timed out like save', async () => {
    const m = memory();
    const hang: Backend = { ...m.be, saveFile: () => new Promise(() => undefined) };
    const be = timeoutBackend(hang, { timeoutMs: 30 });
    const f = file();
    await assert.rejects(
      be.saveFile!(f.h, '/nonexistent', 100),
      (err) => isHoldfastError(err, 'BACKEND') && /save data\/.* timed out/.test(err.message),
    );
  });

  test('limited like save: connections, and `length` bytes of upload bandwidth', async () => {
    let active = 0;
    let peak = 0;
    const m = memory();
    const slow: Backend = {
      ...m.be,
      saveFile: async (h, file, length) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        await m.be.saveFile!(h, file, length);
      },
    };
    const f = file(1000);
    await withFile(f, async (p) => {
      const shared = limitBackend(slow, { connections: 3 });
      await Promise.all(Array.from({ length: 10 }, () => shared.saveFile!(f.h, p, 1000)));
      assert.equal(peak, 3);
      // 100 kB/s with a one-second burst: 100 kB pass at once, the next 20 kB wait ~200 ms.
      const be = limitBackend(m.be, { uploadBytesPerSec: 100_000 });
      const big = file(120_000);
      await withFile(big, async (q) => {
        const started = performance.now();
        await be.saveFile!(big.h, q, 120_000);
        assert.ok(performance.now() - started >= 150, 'waited for the bandwidth limit');
      });
    });
  });

  test('append-only: an existing file of the same size is kept, another size refused', async () => {
    const m = memory();
    const be = appendOnlyBackend(m.be);
    const f = file(300);
    await withFile(f, async (p) => {
      await be.saveFile!(f.h, p, 300);
      await be.saveFile!(f.h, p, 300);
      assert.equal(m.calls.saveFile, 1, 'the existing file was kept');
      await assert.rejects(be.saveFile!(f.h, p, 301), (err) => isHoldfastError(err, 'APPEND_ONLY'));
      assert.equal(m.calls.saveFile, 1);
    });
  });
});

describe('known_hosts', () => {
  const blob = (type: string, body: Buffer) => {
    const t = Buffer.from(type);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(t.length);
    return Buffer.concat([len, t, body]);
  };
  const key = blob('ssh-ed25519', randomBytes(36));
  const other = blob('ssh-ed25519', randomBytes(36));
  const b64 = key.toString('base64');

  test('plain, bracketed-port, wildcard, negated and hashed host names', () => {
    assert.equal(checkKnownHost(`example.org ssh-ed25519 ${b64}\n`, 'example.org', 22, key), 'known');
    assert.equal(checkKnownHost(`example.org ssh-ed25519 ${b64}\n`, 'example.org', 2222, key), 'unknown');
    assert.equal(
      checkKnownHost(`[example.org]:2222 ssh-ed25519 ${b64}\n`, 'example.org', 2222, key),
      'known',
    );
    assert.equal(
      checkKnownHost(`*.example.org,!bad.example.org ssh-ed25519 ${b64}`, 'a.example.org', 22, key),
      'known',
    );
    assert.equal(
      checkKnownHost(`*.example.org,!bad.example.org ssh-ed25519 ${b64}`, 'bad.example.org', 22, key),
      'unknown',
    );
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[10.0.0.1]:2200').digest('base64');
    const hashed = `|1|${salt.toString('base64')}|${hash} ssh-ed25519 ${b64}`;
    assert.equal(checkKnownHost(`# comment\n\n${hashed}\n`, '10.0.0.1', 2200, key), 'known');
    assert.equal(checkKnownHost(hashed, '10.0.0.2', 2200, key), 'unknown');
  });

  test('a different key of the same type is "changed"; @revoked wins', () => {
    const line = `host ssh-ed25519 ${other.toString('base64')}`;
    assert.equal(checkKnownHost(line, 'host', 22, key), 'changed');
    assert.equal(
      checkKnownHost(`host ssh-ed25519 ${b64}\n@revoked * ssh-ed25519 ${b64}`, 'host', 22, key),
      'revoked',
    );
    assert.match(fingerprint(key), /^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

describe('URLs and options', () => {
  test("restic's sftp URL forms", () => {
    assert.deepEqual(parseSftpUrl('sftp:user@host:/srv/repo'), {
      user: 'user',
      host: 'host',
      port: 22,
      path: '/srv/repo',
    });
    assert.deepEqual(parseSftpUrl('sftp:host:repo'), {
      user: undefined,
      host: 'host',
      port: 22,
      path: 'repo',
    });
    assert.deepEqual(parseSftpUrl('sftp:u@[::1]:/r'), { user: 'u', host: '::1', port: 22, path: '/r' });
    assert.deepEqual(parseSftpUrl('sftp://u@h:2222//srv/x'), {
      user: 'u',
      host: 'h',
      port: 2222,
      path: '/srv/x',
    });
    assert.deepEqual(parseSftpUrl('sftp://h/rel/x'), { user: undefined, host: 'h', port: 22, path: 'rel/x' });
    assert.throws(
      () => parseSftpUrl('sftp:hostonly'),
      (e) => isHoldfastError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => parseSftpUrl('sftp://u:pw@h//x'),
      (e) => isHoldfastError(e, 'INVALID_ARGUMENT') && !e.message.includes('pw@'),
    );
  });

  test('passwords in URLs never reach the location or messages', () => {
    assert.equal(
      redactUrl('rest:https://alice:s3cr%2Ft@host:8000/repo/'),
      'rest:https://alice:***@host:8000/repo/',
    );
    assert.equal(redactUrl('/srv/repo'), '/srv/repo');
    const be = restBackend('http://alice:topsecret@127.0.0.1:1/repo/');
    assert.equal(be.location, 'rest:http://alice:***@127.0.0.1:1/repo/');
    assert.throws(
      () => restBackend('ftp://alice:topsecret@h/'),
      (e) => isHoldfastError(e) && !e.message.includes('topsecret'),
    );
  });

  test('-o settings', () => {
    const o = applyBackendSettings({}, [
      'retries=3',
      'timeout=20',
      'sftp.connections=4',
      'sftp.key=/k',
      'sftp.accept-unknown-host',
    ]);
    assert.equal(o.retries, 3);
    assert.equal(o.timeoutMs, 20_000);
    assert.equal(o.connections, 4);
    assert.equal(o.sftp?.keyFile, '/k');
    assert.equal(o.sftp?.acceptUnknownHost, true);
    assert.throws(
      () => applyBackendSettings({}, ['nope=1']),
      (e) => isHoldfastError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => applyBackendSettings({}, ['retries=x']),
      (e) => isHoldfastError(e, 'INVALID_ARGUMENT'),
    );
  });
});
