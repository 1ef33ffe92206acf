#!/usr/bin/env node
// Benchmark (run by hand, not a test): backs up the same generated data with holdfast and
// with restic in one run — initial backup, unchanged backup, restore — alternating the two
// tools, and prints wall time, MB/s, peak RSS and the holdfast/restic ratio for each phase.
//
// Usage: npm run build && node bench/backup-vs-restic.mjs [--small-files N] [--large-mb M]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(here, '..', 'bin', 'holdfast.js');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SMALL_FILES = opt('--small-files', 5000);
const LARGE_MB = opt('--large-mb', 400);
const work = path.join(here, 'work');
const PASSWORD = 'bench';

function prng(seed) {
  let x = seed >>> 0 || 1;
  return (len) => {
    const out = Buffer.allocUnsafe(len);
    for (let i = 0; i + 4 <= len; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out.writeUInt32LE(x >>> 0, i);
    }
    return out;
  };
}

function generate(dir) {
  if (fs.existsSync(path.join(dir, '.complete'))) return;
  fs.rmSync(dir, { recursive: true, force: true });
  const rnd = prng(1234);
  for (let i = 0; i < SMALL_FILES; i++) {
    const d = path.join(dir, 'small', String(i % 100));
    fs.mkdirSync(d, { recursive: true });
    const size = 100 + ((i * 7919) % 30000);
    // Half compressible text, half random.
    fs.writeFileSync(
      path.join(d, `f${i}.dat`),
      i % 2 ? rnd(size & ~3) : Buffer.from(`line ${i}\n`.repeat(size / 8)),
    );
  }
  const large = path.join(dir, 'large');
  fs.mkdirSync(large, { recursive: true });
  const half = Math.floor(LARGE_MB / 2);
  const a = fs.openSync(path.join(large, 'a.bin'), 'w');
  for (let m = 0; m < half; m++) fs.writeSync(a, rnd(1 << 20));
  fs.closeSync(a);
  // b.bin: a.bin shifted by 1000 bytes, so content-defined chunking finds most of it again.
  const b = fs.openSync(path.join(large, 'b.bin'), 'w');
  fs.writeSync(b, rnd(1000));
  const src = fs.openSync(path.join(large, 'a.bin'), 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    const n = fs.readSync(src, buf, 0, buf.length, null);
    if (n === 0) break;
    fs.writeSync(b, buf, 0, n);
  }
  fs.closeSync(src);
  fs.closeSync(b);
  fs.writeFileSync(path.join(dir, '.complete'), '');
}

function du(dir) {
  let n = 0;
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) n += fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size;
  }
  return n;
}

/** Runs a command, returns wall seconds and peak RSS (MiB) sampled from /proc. */
function run(cmd, argv, env) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let peak = 0;
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        /* exited */
      }
    };
    const timer = setInterval(sample, 20);
    child.on('exit', (code) => {
      clearInterval(timer);
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} ${argv.join(' ')} failed (${code}): ${stderr}`));
      else resolve({ secs, peak });
    });
  });
}

const tools = {
  holdfast: (repo) => ({
    cmd: process.execPath,
    pre: [bin],
    env: { HOLDFAST_REPOSITORY: repo, HOLDFAST_PASSWORD: PASSWORD },
  }),
  restic: (repo) => ({
    cmd: 'restic',
    pre: ['--no-cache'],
    env: { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PASSWORD },
  }),
};

async function phase(name, argvFor, bytes) {
  const res = {};
  for (const tool of ['restic', 'holdfast']) {
    const t = tools[tool](path.join(work, `${tool}-repo`));
    const argv = argvFor(tool);
    res[tool] = await run(t.cmd, [...t.pre, ...argv], t.env);
  }
  const mb = bytes / 1e6;
  const line = (tool) =>
    `${tool.padEnd(9)} ${res[tool].secs.toFixed(2).padStart(8)} s ${(mb / res[tool].secs).toFixed(1).padStart(8)} MB/s ${res[tool].peak.toFixed(0).padStart(6)} MiB`;
  console.log(`\n${name}`);
  console.log(line('restic'));
  console.log(line('holdfast'));
  console.log(
    `ratio     speed ${(res.restic.secs / res.holdfast.secs).toFixed(2)}x restic, RSS ${(res.holdfast.peak / Math.max(res.restic.peak, 1)).toFixed(2)}x restic`,
  );
}

async function main() {
  fs.mkdirSync(work, { recursive: true });
  const data = path.join(work, 'data');
  console.log(`generating ${SMALL_FILES} small files and ${LARGE_MB} MB of large files in ${data} ...`);
  generate(data);
  const bytes = du(data);
  console.log(
    `machine: ${os.cpus().length} x ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; data ${(bytes / 1e6).toFixed(0)} MB`,
  );
  for (const tool of ['restic', 'holdfast']) {
    const repo = path.join(work, `${tool}-repo`);
    fs.rmSync(repo, { recursive: true, force: true });
    const t = tools[tool](repo);
    await run(t.cmd, [...t.pre, 'init'], t.env);
  }
  await phase('initial backup', () => ['backup', data], bytes);
  await phase('unchanged backup', () => ['backup', data], bytes);
  for (const tool of ['restic', 'holdfast'])
    fs.rmSync(path.join(work, `restore-${tool}`), { recursive: true, force: true });
  await phase(
    'full restore',
    (tool) => ['restore', 'latest', '--target', path.join(work, `restore-${tool}`)],
    bytes,
  );
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
