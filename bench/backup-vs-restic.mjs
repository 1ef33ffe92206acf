#!/usr/bin/env node
// Benchmark (run by hand, not a test; issue 7): holdfast against restic on the same generated
// data in one run, the two tools alternating in every phase: initial backup, unchanged backup,
// backup after changing about 2% of the data, full restore, check --read-data, and streaming a
// pg_dump into a fresh repository, then again into the one holding it, against
// pg_dump > /dev/null. Prints wall time, MB/s, peak RSS
// and the holdfast/restic ratios; --profile prints holdfast's per-stage profile per phase.
// The phases that leave the repositories as they were (unchanged backup, full restore,
// check --read-data, pg_dump) run --repeat rounds, each tool once per round, the order rotating
// round by round (so neither tool always runs after the other's page-cache / writeback effects);
// they report each tool's median time, its peak RSS over all runs and every run's time.
// Initial backup and backup after the change run once (they change what the next phase sees).
//
// Usage: npm run build && node bench/backup-vs-restic.mjs [--small-files 20000] [--large-mb 1500]
//          [--pg-mb 1000] [--profile] [--workers N] [--repeat 3]
//        (--pg-mb 0 skips the pg_dump phase; --repeat 1 runs every phase once; --profile shows
//        holdfast's profile from its last run of each phase)
// Quick run: node bench/backup-vs-restic.mjs --small-files 2000 --large-mb 200 --pg-mb 100
import { spawn, spawnSync } from 'node:child_process';
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
const SMALL_FILES = opt('--small-files', 20000);
const LARGE_MB = opt('--large-mb', 1500);
const PG_MB = opt('--pg-mb', 1000);
const WORKERS = opt('--workers', undefined);
const PROFILE = args.includes('--profile');
// Rounds of the phases that can be repeated (each repeated unchanged backup adds a snapshot per tool).
const REPEAT = opt('--repeat', 3);
if (!Number.isInteger(REPEAT) || REPEAT < 1) {
  console.error('--repeat needs a whole number of rounds, at least 1');
  process.exit(2);
}
const work = path.join(here, 'work');
const PASSWORD = 'bench';
const PG = ['-h', '127.0.0.1', '-U', 'postgres'];

/** xorshift32: the same bytes on every run. */
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

/** Log-like text: compressible, but not trivially. */
function textBlock(rnd, len) {
  const words = ['GET', 'POST', '/api/v1/items', '200', '404', 'user', 'session', 'ok', 'latency', 'ms'];
  const r = rnd(len);
  const parts = [];
  let n = 0;
  for (let i = 0; n < len; i++) {
    const w = `${words[r[i % len] % words.length]} ${r.readUInt16LE(i % (len - 2))} `;
    parts.push(w);
    n += w.length;
    if (i % 12 === 11) parts.push('\n');
  }
  return Buffer.from(parts.join('')).subarray(0, len);
}

function generate(dir) {
  const stamp = path.join(dir, '.complete');
  const want = `${SMALL_FILES} ${LARGE_MB}`;
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return;
  fs.rmSync(dir, { recursive: true, force: true });
  const rnd = prng(1234);
  for (let i = 0; i < SMALL_FILES; i++) {
    const d = path.join(dir, 'small', String(i % 200).padStart(3, '0'));
    fs.mkdirSync(d, { recursive: true });
    const size = 100 + ((i * 7919) % 30000);
    // Mixed: a third random, a third log-like text, a third repetitive.
    const body =
      i % 3 === 0
        ? rnd(size & ~3)
        : i % 3 === 1
          ? textBlock(rnd, size)
          : Buffer.from(`line ${i}\n`.repeat(size / 8));
    fs.writeFileSync(path.join(d, `f${i}.dat`), body);
  }
  const large = path.join(dir, 'large');
  fs.mkdirSync(large, { recursive: true });
  // a.bin random (40%), b.bin = a.bin shifted by 1000 bytes (40%), c.log text (20%).
  const aMb = Math.floor(LARGE_MB * 0.4);
  const a = fs.openSync(path.join(large, 'a.bin'), 'w');
  for (let m = 0; m < aMb; m++) fs.writeSync(a, rnd(1 << 20));
  fs.closeSync(a);
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
  const c = fs.openSync(path.join(large, 'c.log'), 'w');
  for (let m = 0; m < LARGE_MB - 2 * aMb; m++) fs.writeSync(c, textBlock(rnd, 1 << 20));
  fs.closeSync(c);
  fs.writeFileSync(stamp, want);
}

/** Changes about 2% of the data, deterministically: 2% of the small files and 1 MiB in 50 of large data. */
function mutate(dir) {
  const rnd = prng(99);
  let changed = 0;
  for (let i = 0; i < SMALL_FILES; i += 50) {
    const f = path.join(dir, 'small', String(i % 200).padStart(3, '0'), `f${i}.dat`);
    const size = fs.statSync(f).size;
    fs.writeFileSync(f, rnd(size & ~3));
    changed += size;
  }
  for (const name of ['a.bin', 'c.log']) {
    const f = path.join(dir, 'large', name);
    const size = fs.statSync(f).size;
    const fd = fs.openSync(f, 'r+');
    for (let off = 7 << 20; off + (1 << 20) <= size; off += 50 << 20) {
      fs.writeSync(fd, rnd(1 << 20), 0, 1 << 20, off);
      changed += 1 << 20;
    }
    fs.closeSync(fd);
  }
  return changed;
}

function du(dir) {
  let n = 0;
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name !== '.complete')
      n += fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size;
  }
  return n;
}

/** Peak RSS (MiB) of a process so far, from /proc (VmHWM). */
function peakOf(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0; // exited
  }
}

/**
 * Runs a command, returns wall seconds and its peak RSS (MiB, sampled from /proc every 20 ms).
 * `stdinFrom` is another command whose stdout feeds this one (its RSS is not counted).
 */
function run(cmd, argv, env = {}, { stdinFrom, quiet = true } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let feeder;
    if (stdinFrom) feeder = spawn(stdinFrom[0], stdinFrom.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    const child = spawn(cmd, argv, {
      env: { ...process.env, ...env },
      stdio: [feeder ? feeder.stdout : 'ignore', quiet ? 'ignore' : 'inherit', 'pipe'],
    });
    let peak = 0;
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setInterval(() => (peak = Math.max(peak, peakOf(child.pid))), 20);
    child.on('exit', (code) => {
      clearInterval(timer);
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} ${argv.join(' ')} failed (${code}): ${stderr}`));
      else resolve({ secs, peak, stderr });
    });
  });
}

const tools = {
  // The binary as a user runs it: through its #! line (with its V8 heap options), with this
  // Node.js first on PATH.
  holdfast: (repo) => ({
    cmd: bin,
    pre: [],
    env: {
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`,
      HOLDFAST_REPOSITORY: repo,
      HOLDFAST_PASSWORD: PASSWORD,
      ...(PROFILE ? { HOLDFAST_PROFILE: '1' } : {}),
      ...(WORKERS !== undefined ? { HOLDFAST_WORKERS: String(WORKERS) } : {}),
    },
  }),
  restic: (repo) => ({
    cmd: 'restic',
    pre: ['--no-cache'],
    env: { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PASSWORD },
  }),
};

const summary = [];
const fmtLine = (name, r, mb) =>
  `${name.padEnd(18)} ${r.secs.toFixed(2).padStart(8)} s ${(mb / r.secs).toFixed(1).padStart(8)} MB/s ${r.peak.toFixed(0).padStart(6)} MiB`;

function showProfile(r) {
  const table = r.stderr.split('\n').filter((l) => /holdfast profile|^\s{2}\S/.test(l));
  if (PROFILE && table.length) console.log(table.map((l) => '    ' + l).join('\n'));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Several runs of one command as one result: median time, highest peak RSS, the last run's stderr (for the profile). */
function combine(runs) {
  const times = runs.map((r) => r.secs);
  return {
    secs: median(times),
    peak: Math.max(...runs.map((r) => r.peak)),
    stderr: runs.at(-1).stderr,
    times,
  };
}

/** Round `r`'s order: `names` rotated by r, so each command takes every place in turn. */
const orderOf = (names, r) => names.map((_, i) => names[(i + r) % names.length]);

/** Runs each of `cmds` (name -> async () => run result) once per round for `n` rounds; name -> combined result. */
async function rounds(cmds, n) {
  const names = Object.keys(cmds);
  const runs = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < n; r++) for (const k of orderOf(names, r)) runs[k].push(await cmds[k]());
  return Object.fromEntries(names.map((k) => [k, combine(runs[k])]));
}

/** Every run's time, e.g. "runs  restic 4.42 4.48 4.47 s; holdfast 3.10 3.12 3.09 s" (only when repeated). */
function showRuns(entries) {
  if (entries[0][1].times.length < 2) return;
  const list = entries.map(([label, r]) => `${label} ${r.times.map((t) => t.toFixed(2)).join(' ')} s`);
  console.log(`${'runs'.padEnd(18)} ${list.join('; ')}`);
}

/** Header of a phase: its name, the MB it moves and, when repeated, how many runs the median is of. */
const header = (name, mb, what, n) =>
  `\n${name} (${mb.toFixed(0)} MB${what}${n > 1 ? `, median of ${n}` : ''})`;

/** One phase: restic and holdfast, same arguments, `repeat` rounds in alternating order. */
async function phase(name, argvFor, bytes, opts = {}) {
  const n = opts.repeat ?? 1;
  const once = (tool) => async () => {
    opts.before?.(tool);
    const t = tools[tool](path.join(work, `${tool}-repo`));
    return run(t.cmd, [...t.pre, ...argvFor(tool)], t.env, opts);
  };
  const res = await rounds({ restic: once('restic'), holdfast: once('holdfast') }, n);
  const mb = bytes / 1e6;
  console.log(header(name, mb, '', n));
  console.log(fmtLine('restic', res.restic, mb));
  console.log(fmtLine('holdfast', res.holdfast, mb));
  showRuns(Object.entries(res));
  showProfile(res.holdfast);
  const speed = res.restic.secs / res.holdfast.secs;
  const rss = res.holdfast.peak / Math.max(res.restic.peak, 1);
  console.log(`ratio              speed ${speed.toFixed(2)}x restic, RSS ${rss.toFixed(2)}x restic`);
  summary.push({ name, restic: res.restic, holdfast: res.holdfast, speed, rss, n });
}

function psql(sql, db = 'postgres') {
  const r = spawnSync('psql', [...PG, '-d', db, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim();
}

async function pgPhase() {
  const db = 'holdfast_bench';
  console.log(`\ncreating database ${db} with about ${PG_MB} MB ...`);
  psql(`DROP DATABASE IF EXISTS ${db}`);
  psql(`CREATE DATABASE ${db}`);
  try {
    // About 160 bytes of dump text per row.
    const rows = Math.round((PG_MB * 1e6) / 160);
    psql(
      `CREATE TABLE events AS SELECT g AS id, now() - g * interval '1 second' AS at,
         md5(g::text) AS a, md5((g * 7)::text) AS b, (g % 1000)::text || ' units of ' || md5((g % 97)::text) AS note
       FROM generate_series(1, ${rows}) g`,
      db,
    );
    // Now rather than by autovacuum during the timed runs (it visits every page of the new table).
    psql('VACUUM ANALYZE events', db);
    // As the postgres source runs it: custom format, not compressed by pg_dump.
    const dump = ['pg_dump', ...PG, '-Fc', '-Z0', db];
    // The dump's size, measured once.
    const size = Number(
      spawnSync('bash', ['-c', `${dump.join(' ')} | wc -c`], { encoding: 'utf8' }).stdout.trim(),
    );
    const mb = size / 1e6;
    const repoOf = (tool) => path.join(work, `pg-${tool}-repo`);
    // A fresh repository for each run (made untimed), or the one the last run left.
    const into = async (tool, fresh) => {
      const t = tools[tool](repoOf(tool));
      if (fresh) {
        fs.rmSync(repoOf(tool), { recursive: true, force: true });
        await run(t.cmd, [...t.pre, 'init'], t.env);
      }
      return t;
    };
    // Three commands per round, their order rotating: pg_dump alone, then into each tool.
    const streamRounds = (fresh) =>
      rounds(
        {
          alone: () => run('bash', ['-c', `${dump.join(' ')} > /dev/null`]),
          restic: async () => {
            const rs = await into('restic', fresh);
            return run(rs.cmd, [...rs.pre, 'backup', '--stdin', '--stdin-filename', 'bench.sql'], rs.env, {
              stdinFrom: dump,
            });
          },
          holdfast: async () => {
            const hf = await into('holdfast', fresh);
            return run(
              hf.cmd,
              [...hf.pre, 'backup', '--stdin-filename', 'bench.sql', '--stdin-from-command', '--', ...dump],
              hf.env,
            );
          },
        },
        REPEAT,
      );
    const report = (name, { alone, restic, holdfast }) => {
      console.log(header(name, mb, ' dump', REPEAT));
      console.log(fmtLine('pg_dump > /dev/null', alone, mb));
      console.log(fmtLine('restic --stdin', restic, mb));
      console.log(fmtLine('holdfast', holdfast, mb));
      showRuns([
        ['pg_dump', alone],
        ['restic', restic],
        ['holdfast', holdfast],
      ]);
      showProfile(holdfast);
      const overhead = holdfast.secs / alone.secs - 1;
      console.log(
        `ratio              holdfast adds ${(overhead * 100).toFixed(1)}% over pg_dump alone, restic ${((restic.secs / alone.secs - 1) * 100).toFixed(1)}%; ${(restic.secs / holdfast.secs).toFixed(2)}x restic, RSS ${(holdfast.peak / Math.max(restic.peak, 1)).toFixed(2)}x restic`,
      );
      summary.push({
        name,
        restic,
        holdfast,
        speed: restic.secs / holdfast.secs,
        rss: holdfast.peak / Math.max(restic.peak, 1),
        overhead,
        n: REPEAT,
      });
    };
    // Each run stores the whole dump into a fresh repository of its own: the first backup.
    report('pg_dump stream', await streamRounds(true));
    // Then the same database again into the repository the last run left (the daily backup of
    // a database that did not change): every chunk is found stored, so only reading, chunking
    // and hashing remain.
    report('pg_dump stream again', await streamRounds(false));
    for (const tool of ['restic', 'holdfast']) fs.rmSync(repoOf(tool), { recursive: true, force: true });
  } finally {
    psql(`DROP DATABASE IF EXISTS ${db}`);
  }
}

async function main() {
  fs.mkdirSync(work, { recursive: true });
  const data = path.join(work, 'data');
  console.log(`generating ${SMALL_FILES} small files and ${LARGE_MB} MB of large files in ${data} ...`);
  generate(data);
  const bytes = du(data);
  const cpu = os.cpus();
  console.log(
    `machine: ${cpu.length} x ${cpu[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}; node ${process.version}; ${spawnSync('restic', ['version'], { encoding: 'utf8' }).stdout.trim()}`,
  );
  console.log(
    `data ${(bytes / 1e6).toFixed(0)} MB; load average at start ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const tool of ['restic', 'holdfast']) {
    const repo = path.join(work, `${tool}-repo`);
    fs.rmSync(repo, { recursive: true, force: true });
    const t = tools[tool](repo);
    await run(t.cmd, [...t.pre, 'init'], t.env);
  }
  await phase('initial backup', () => ['backup', data], bytes);
  await phase('unchanged backup', () => ['backup', data], bytes, { repeat: REPEAT });
  // In place (a copy would change every inode, and both tools would re-read everything);
  // the next run regenerates the data.
  fs.writeFileSync(path.join(data, '.complete'), 'changed');
  const changed = mutate(data);
  console.log(`\nchanged ${(changed / 1e6).toFixed(0)} MB (${((changed / bytes) * 100).toFixed(1)}%)`);
  await phase('backup after ~2% change', () => ['backup', data], bytes);
  await phase(
    'full restore',
    (tool) => ['restore', 'latest', '--target', path.join(work, `restore-${tool}`)],
    bytes,
    {
      repeat: REPEAT,
      // Per run: each restore starts from an empty target, with the last run's writes on disk
      // (without the sync, a run paid for the previous one's 1.9 GB of write-back: single
      // runs of either tool then varied by up to 1.7×).
      before: (tool) => {
        fs.rmSync(path.join(work, `restore-${tool}`), { recursive: true, force: true });
        spawnSync('sync');
      },
    },
  );
  for (const tool of ['restic', 'holdfast'])
    fs.rmSync(path.join(work, `restore-${tool}`), { recursive: true, force: true });
  const repoBytes = (tool) => du(path.join(work, `${tool}-repo`));
  console.log(
    `\nrepository size: restic ${(repoBytes('restic') / 1e6).toFixed(0)} MB, holdfast ${(repoBytes('holdfast') / 1e6).toFixed(0)} MB`,
  );
  spawnSync('sync'); // the restores' writes, before the check reads
  await phase('check --read-data', () => ['check', '--read-data'], repoBytes('holdfast'), { repeat: REPEAT });
  if (PG_MB > 0) await pgPhase();
  console.log(
    `\nload average at end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log('\nsummary (speed: restic time / holdfast time; RSS: holdfast / restic)');
  for (const s of summary)
    console.log(
      `  ${s.name.padEnd(26)} speed ${s.speed.toFixed(2)}x  RSS ${s.rss.toFixed(2)}x${s.overhead !== undefined ? `  overhead vs pg_dump ${(s.overhead * 100).toFixed(1)}%` : ''}${s.n > 1 ? `  (median of ${s.n})` : ''}`,
    );
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
