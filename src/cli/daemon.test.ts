/**
 * `holdfast daemon` as a process: SIGTERM during a backup aborts it, records the job as
 * aborted and leaves a repository restic check accepts with no new snapshot; SIGHUP picks
 * up a changed schedule, and an invalid policy on reload keeps the old one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { openCatalog } from '../catalog/catalog.js';
import { cleanEnv, holdfastOk, holdfastSpawn } from '../testing/cli.js';
import { PRIMARY_PW, writeTestPolicy, type TestPolicy } from '../testing/policy.js';
import { restic, resticJson } from '../testing/restic.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';

let tmp: string;
let p: TestPolicy;

before(() => {
  tmp = makeTempDir('daemon-cli');
  // A slow dump: 20 MB of output, then it hangs until killed.
  p = writeTestPolicy(
    tmp,
    `  slow:
    data: A slow dump
    category: test
    source: { type: command, command: "head -c 20000000 /dev/urandom; sleep 60" }
    schedule: "0 4 * * *"
    retention: { keepLast: 3 }
    repository: primary
`,
  );
  holdfastOk(['setup', '--policy', p.file], { env: cleanEnv() });
});
after(() => removeDir(tmp));

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  return assert.fail(`timed out waiting for ${what}`);
}

test('SIGTERM during a job aborts it: job recorded as aborted, no snapshot, restic check passes', async () => {
  const child = holdfastSpawn(['daemon', '--policy', p.file, '--grace', '0'], { env: cleanEnv() });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const catalog = await openCatalog(p.catalog);
  try {
    // Never run: the daemon catches up at start, so the slow dump begins at once.
    await waitFor(
      'the slow backup to start',
      async () => (await catalog.lastJob('slow', 'backup'))?.status === 'running',
    );
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, log);
    const job = await catalog.lastJob('slow', 'backup');
    assert.equal(job?.status, 'aborted', log);
    assert.match(job?.error ?? '', /abort/i);
  } finally {
    await catalog.close();
  }
  const snaps = resticJson<{ tags?: string[] }[]>(['snapshots'], { repo: p.primary, password: PRIMARY_PW });
  assert.equal(
    snaps.filter((s) => s.tags?.includes('asset:slow')).length,
    0,
    'no snapshot of the aborted dump',
  );
  assert.match(restic(['check'], { repo: p.primary, password: PRIMARY_PW }), /no errors were found/);
  assert.match(log, /daemon stopped/);
});

test('SIGHUP reloads a changed schedule; an invalid policy is reported and the old one kept', async () => {
  fs.writeFileSync(p.file, fs.readFileSync(p.file, 'utf8').replace('"0 4 * * *"', '"0 5 * * *"'));
  const child = holdfastSpawn(['daemon', '--policy', p.file, '--grace', '0'], { env: cleanEnv() });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await waitFor('the daemon to start', () => /slow: next run at \S+T05:00/.test(log));

  fs.writeFileSync(p.file, fs.readFileSync(p.file, 'utf8').replace('"0 5 * * *"', '"0 6 * * *"'));
  child.kill('SIGHUP');
  await waitFor('the reload', () => /slow: next run at \S+T06:00/.test(log));
  assert.match(log, /policy reloaded/);

  fs.writeFileSync(p.file, fs.readFileSync(p.file, 'utf8').replace('"0 6 * * *"', '"0 99 * * *"'));
  child.kill('SIGHUP');
  await waitFor('the failed reload', () => /reload failed, keeping the previous policy/.test(log));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, log);
});
