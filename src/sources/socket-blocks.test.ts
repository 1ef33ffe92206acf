/**
 * A child's stdout through holdfast's own socket, with real child processes: the bytes arrive
 * whole and in order in full pool blocks; reading pauses while the consumer waits, so the
 * child's writes block rather than memory filling; closing unread ends the child's output;
 * a command stopped before its socket is ready never starts and says so; a read waiting on a
 * silent command ends at once when the stream is given up (an abort); an unusable TMPDIR
 * fails the command with a message that says what to change; holdfast's own
 * stdin is read into pool blocks when it is a pipe, and as a plain stream when it is a file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { BLOCK_SIZE, isPoolBlock } from '../engine/block-pool.js';
import { isHoldfastError } from '../errors.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { commandStream } from './command.js';
import { openOutputSocket } from './socket-blocks.js';

/** A Node.js child that writes `bytes` of a fixed pattern in writes of varying size. */
function writer(bytes: number, stdout: import('node:net').Socket): ChildProcess {
  const script = `
    let left = ${bytes}, i = 0;
    const step = () => {
      while (left > 0) {
        const n = Math.min(left, 1 + ((i * 7919) % 200000));
        const b = Buffer.alloc(n);
        for (let k = 0; k < n; k++) b[k] = (i + k * 31) & 255;
        i++;
        left -= n;
        if (!process.stdout.write(b)) return process.stdout.once('drain', step);
      }
    };
    step();`;
  return spawn(process.execPath, ['-e', script], { stdio: ['ignore', stdout, 'inherit'] });
}

/** The same bytes writer() sends, hashed. */
function expectedHash(bytes: number): string {
  const h = createHash('sha256');
  for (let left = bytes, i = 0; left > 0; i++) {
    const n = Math.min(left, 1 + ((i * 7919) % 200000));
    const b = Buffer.alloc(n);
    for (let k = 0; k < n; k++) b[k] = (i + k * 31) & 255;
    h.update(b);
    left -= n;
  }
  return h.digest('hex');
}

test("a child's stdout arrives whole and in order, in full pool blocks", async () => {
  const size = 3 * BLOCK_SIZE + 12345;
  const out = await openOutputSocket();
  const child = writer(size, out.childEnd);
  out.childEnd.destroy();
  const h = createHash('sha256');
  const lengths: number[] = [];
  for await (const b of out.blocks) {
    assert.ok(isPoolBlock(b), 'a pool block');
    lengths.push(b.length);
    h.update(b);
  }
  assert.deepEqual(lengths, [BLOCK_SIZE, BLOCK_SIZE, BLOCK_SIZE, 12345]);
  assert.equal(h.digest('hex'), expectedHash(size));
  if (child.exitCode === null) await once(child, 'exit');
  assert.equal(child.exitCode, 0);
});

test('reading pauses while the consumer waits: the child waits instead of memory filling', async () => {
  const size = 48 * BLOCK_SIZE;
  const out = await openOutputSocket();
  const child = writer(size, out.childEnd);
  out.childEnd.destroy();
  // Unread, only two full blocks, the current one and the socket's buffers can take output.
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(child.exitCode, null, 'the child is still waiting to write');
  let total = 0;
  for await (const b of out.blocks) total += b.length;
  assert.equal(total, size);
  if (child.exitCode === null) await once(child, 'exit');
  assert.equal(child.exitCode, 0);
});

test("closing unread ends the child's output (it sees a closed socket, not a stall)", async () => {
  const out = await openOutputSocket();
  const child = spawn('head', ['-c', String(64 * BLOCK_SIZE), '/dev/zero'], {
    stdio: ['ignore', out.childEnd, 'ignore'],
  });
  out.childEnd.destroy();
  await new Promise((r) => setTimeout(r, 100));
  out.close();
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  assert.ok(signal === 'SIGPIPE' || (code !== null && code !== 0), `head ended with ${code} ${signal}`);
});

test('a command stopped before its socket is ready never starts, and says so', async () => {
  const c = commandStream('sh', ['-c', 'echo started > /dev/stderr; echo out']);
  c.kill();
  const caught = await c.finished().then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(isHoldfastError(caught, 'SOURCE_FAILED'), String(caught));
  assert.match(caught.message, /command sh was stopped before it started/);
  await assert.rejects(async () => {
    for await (const b of c.stdout) void b;
  }, /stopped before it started/);
  assert.equal(c.stderr(), '');
});

test("holdfast's stdin: a pipe is read into pool blocks, a file as it is, both whole", async () => {
  const tmp = makeTempDir('stdin-blocks');
  try {
    const size = 2 * BLOCK_SIZE + 999;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 131 + (i >> 9)) & 255;
    const file = path.join(tmp, 'input');
    fs.writeFileSync(file, data);
    const module = new URL('./socket-blocks.js', import.meta.url).href;
    const pools = new URL('../engine/block-pool.js', import.meta.url).href;
    const script = `
      const { stdinBlocks } = await import(${JSON.stringify(module)});
      const { isPoolBlock } = await import(${JSON.stringify(pools)});
      const h = require('crypto').createHash('sha256');
      let pool = 0, other = 0;
      for await (const b of stdinBlocks()) { h.update(b); if (isPoolBlock(b)) pool++; else other++; }
      process.stdout.write(JSON.stringify({ sha: h.digest('hex'), pool, other }));`;
    const run = async (stdin: 'pipe' | number) => {
      const child = spawn(process.execPath, ['--input-type=commonjs', '-e', `(async () => {${script}})()`], {
        stdio: [stdin, 'pipe', 'inherit'],
      });
      if (stdin === 'pipe') child.stdin!.end(data);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await once(child, 'close');
      return JSON.parse(out) as { sha: string; pool: number; other: number };
    };
    const want = createHash('sha256').update(data).digest('hex');
    const piped = await run('pipe');
    assert.equal(piped.sha, want);
    assert.deepEqual([piped.pool, piped.other], [3, 0]);
    const fd = fs.openSync(file, 'r');
    try {
      const fromFile = await run(fd);
      assert.equal(fromFile.sha, want);
      assert.equal(fromFile.pool, 0);
      assert.ok(fromFile.other > 0);
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    removeDir(tmp);
  }
});

test('a read waiting on a silent command ends at once when the stream is given up', async () => {
  const c = commandStream('sleep', ['30']);
  try {
    const it = c.stdout[Symbol.asyncIterator]();
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 200)); // started, and waiting for output
    const t0 = Date.now();
    assert.deepEqual(await it.return!(), { value: undefined, done: true });
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.ok(Date.now() - t0 < 1000, 'ended at once');
  } finally {
    c.kill();
  }
  await assert.rejects(c.finished(), /command sleep was killed by SIGTERM/);
});

test('an unusable TMPDIR fails the command with a message that says what to change', async () => {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = '/nonexistent/holdfast-test';
  try {
    const c = commandStream('echo', ['hi'], undefined, { label: 'the test command' });
    await assert.rejects(
      c.finished(),
      (err: unknown) =>
        isHoldfastError(err, 'SOURCE_FAILED') &&
        /cannot read the output of the test command: .*set TMPDIR to a short, writable directory/.test(
          err.message,
        ),
    );
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
});
