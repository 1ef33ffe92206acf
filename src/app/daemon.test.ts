/**
 * The daemon with a controllable clock: an asset never backed up runs at start, due runs
 * start at their slots, and after a simulated downtime spanning several slots the missed
 * run is caught up exactly once; a heartbeat is recorded; jobs a killed daemon left running
 * are marked aborted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openCatalog } from '../catalog/catalog.js';
import { manualClock } from '../scheduler/clock.js';
import { writeTestPolicy, type TestPolicy } from '../testing/policy.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { setupRepositories } from './setup.js';
import { startDaemon, type DaemonHandle, HEARTBEAT_NAME } from './daemon.js';
import { loadPolicy } from '../policy/load.js';

let tmp: string;
let p: TestPolicy;

before(async () => {
  tmp = makeTempDir('daemon');
  p = writeTestPolicy(tmp, '', { docsSchedule: '0 * * * *' });
  await setupRepositories(await loadPolicy(p.file), {});
});
after(() => removeDir(tmp));

async function backupJobs(): Promise<{ startedAt: string; status: string }[]> {
  const c = await openCatalog(p.catalog);
  try {
    return (await c.listJobs({ asset: 'docs', kind: 'backup' })).reverse();
  } finally {
    await c.close();
  }
}

/** Waits (in real time) until the daemon runs nothing and `count` backup jobs exist. */
async function settle(d: DaemonHandle, count: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (d.running().length === 0 && (await backupJobs()).length >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`expected ${count} backup jobs, have ${(await backupJobs()).length}`);
}

test('runs at start when never run, at each slot, and catches up once after downtime', async () => {
  const clock = manualClock('2026-03-01T10:30:00Z');
  const lines: string[] = [];
  let d = await startDaemon({ policyFile: p.file, env: {}, clock, log: (l) => lines.push(l) });
  await settle(d, 1);
  assert.equal(
    (await backupJobs())[0].startedAt,
    '2026-03-01T10:30:00.000Z',
    'never run: runs once at start',
  );
  assert.ok(lines.some((l) => /docs: run started .*catching up/.test(l)));

  await clock.advance(30 * 60_000); // 11:00, the next slot
  await settle(d, 2);
  assert.equal((await backupJobs())[1].startedAt, '2026-03-01T11:00:00.000Z');

  await clock.advance(20 * 60_000); // 11:20: no slot
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await backupJobs()).length, 2, 'no run between slots');
  await d.stop({ abort: false });

  // Downtime from 11:20 to 16:10 spans five hourly slots; one catch-up run, not five.
  await clock.advance(4 * 3600_000 + 50 * 60_000);
  d = await startDaemon({ policyFile: p.file, env: {}, clock, log: (l) => lines.push(l) });
  await settle(d, 3);
  await new Promise((r) => setTimeout(r, 300));
  const jobs = await backupJobs();
  assert.equal(jobs.length, 3, 'exactly one catch-up run');
  assert.equal(jobs[2].startedAt, '2026-03-01T16:10:00.000Z');
  assert.ok(jobs.every((j) => j.status === 'succeeded'));

  const c = await openCatalog(p.catalog);
  try {
    assert.ok(await c.heartbeat(HEARTBEAT_NAME), 'the daemon records a heartbeat');
  } finally {
    await c.close();
  }
  await d.stop({ abort: false });
});

test('jobs a killed daemon left running are recorded as aborted on start', async () => {
  const c = await openCatalog(p.catalog);
  const id = await c.startJob({
    asset: 'docs',
    kind: 'backup',
    repository: 'primary',
    startedAt: new Date(),
  });
  await c.close();
  const clock = manualClock(new Date());
  const lines: string[] = [];
  const d = await startDaemon({ policyFile: p.file, env: {}, clock, log: (l) => lines.push(l) });
  await d.stop({ abort: true });
  const c2 = await openCatalog(p.catalog);
  try {
    const job = await c2.getJob(id);
    assert.equal(job?.status, 'aborted');
    assert.match(job?.error ?? '', /stopped while this job was running/);
  } finally {
    await c2.close();
  }
  assert.ok(lines.some((l) => /marked 1 job/.test(l)));
});
