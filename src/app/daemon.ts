/**
 * The daemon: runs every asset of the policy on its schedule through the scheduler (at most
 * one run per asset, the policy's concurrency limit, one catch-up run after downtime), marks
 * jobs a killed predecessor left running as aborted, records a heartbeat, reloads the policy
 * on request (an invalid new policy is reported and the old one kept), and stops either
 * letting running jobs finish or aborting them.
 */
import * as os from 'node:os';
import { HoldfastError } from '../errors.js';
import { loadPolicy } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import { type Clock, systemClock } from '../scheduler/clock.js';
import { parseSchedule } from '../scheduler/cron.js';
import { type ScheduleEntry, type SchedulerEvent, startScheduler } from '../scheduler/scheduler.js';
import { catalogUrl, type Env, openPolicyContext, type PolicyContext } from './policy-context.js';
import { runAsset } from './run-asset.js';

export const HEARTBEAT_NAME = 'daemon';

export interface DaemonOptions {
  policyFile: string;
  env?: Env;
  clock?: Clock;
  log?: (line: string) => void;
  heartbeatMs?: number;
}

export interface DaemonHandle {
  /** Re-reads the policy file; resolves to the error text when it is invalid (old policy kept). */
  reload(): Promise<string | undefined>;
  /** Stops scheduling; `abort` interrupts running jobs (recorded as aborted, no snapshot). */
  stop(opts: { abort: boolean }): Promise<void>;
  running(): string[];
  nextRuns(): { id: string; at: Date }[];
}

function entriesOf(policy: Policy): ScheduleEntry[] {
  return Object.values(policy.assets).flatMap((a) =>
    a.backup ? [{ id: a.name, schedule: parseSchedule(a.schedule.cron, a.schedule.timezone) }] : [],
  );
}

function describeEvent(e: SchedulerEvent): string {
  const slot = 'slot' in e ? ` (slot ${e.slot.toISOString()})` : '';
  switch (e.type) {
    case 'start':
      return `${e.id}: run started${slot}${e.catchUp ? ', catching up a missed run' : ''}`;
    case 'finish':
      return `${e.id}: run finished in ${Math.round(e.durationMs / 1000)} s`;
    case 'fail':
      return `${e.id}: run ${e.aborted ? 'aborted' : 'failed'}: ${e.error instanceof Error ? e.error.message : String(e.error)}`;
    case 'wait':
      return `${e.id}: due${slot}, waiting (${e.reason === 'running' ? 'previous run still going' : 'concurrency limit'})`;
    case 'skip':
      return `${e.id}: slot skipped${slot} (${e.reason})`;
    case 'error':
      return `${e.id}: ${e.error instanceof Error ? e.error.message : String(e.error)}`;
  }
}

export async function startDaemon(opts: DaemonOptions): Promise<DaemonHandle> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? (() => undefined);
  let ctx: PolicyContext = await openPolicyContext(opts.policyFile, opts.env);
  const host = os.hostname();
  const aborted = await ctx.catalog.abortRunningJobs(
    'holdfast stopped while this job was running',
    clock.now(),
    {
      host,
    },
  );
  if (aborted > 0) log(`marked ${aborted} job(s) left running by a stopped holdfast as aborted`);

  const scheduler = startScheduler({
    entries: entriesOf(ctx.policy),
    concurrency: ctx.policy.concurrency,
    clock,
    lastRun: async (id) => {
      const job = await ctx.catalog.lastJob(id, 'backup');
      return job ? new Date(job.startedAt) : undefined;
    },
    run: async (id, _slot, signal) => {
      const asset = ctx.policy.assets[id];
      if (!asset?.backup) return;
      const out = await runAsset(ctx, asset, { signal, now: () => clock.now(), log });
      if (!out.ok) {
        const failed = out.steps.filter((s) => s.status !== 'succeeded');
        throw new HoldfastError(
          'SOURCE_FAILED',
          failed.map((s) => `${s.kind} ${s.status}: ${s.error}`).join('; '),
        );
      }
    },
    onEvent: (e) => log(describeEvent(e)),
  });

  const beats = new AbortController();
  const beat = () => ctx.catalog.recordHeartbeat(HEARTBEAT_NAME, clock.now()).catch(() => undefined);
  await beat();
  const heartbeatLoop = (async () => {
    for (;;) {
      try {
        await clock.sleep(opts.heartbeatMs ?? 30_000, beats.signal);
      } catch {
        return;
      }
      await beat();
    }
  })();
  await scheduler.ready;
  let stopping: Promise<void> | undefined;
  const logNextRuns = () => {
    for (const n of scheduler.nextRuns()) log(`${n.id}: next run at ${n.at.toISOString()}`);
  };
  log(
    `daemon started: ${entriesOf(ctx.policy).length} scheduled asset(s), concurrency ${ctx.policy.concurrency}`,
  );
  logNextRuns();

  return {
    async reload() {
      let policy: Policy;
      try {
        policy = await loadPolicy(opts.policyFile);
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        log(`reload failed, keeping the previous policy: ${text}`);
        return text;
      }
      if (catalogUrl(policy) !== catalogUrl(ctx.policy))
        log('the catalog setting changed: restart the daemon to use it');
      if (policy.concurrency !== ctx.policy.concurrency)
        log('the concurrency changed: restart the daemon to use it');
      ctx = { ...ctx, policy };
      await scheduler.update(entriesOf(policy));
      log(`policy reloaded: ${entriesOf(policy).length} scheduled asset(s)`);
      logNextRuns();
      return undefined;
    },
    async stop({ abort }) {
      log(abort ? 'stopping: aborting running jobs' : 'stopping: letting running jobs finish');
      // A second call (e.g. abort after a grace period) only escalates the first.
      if (stopping) return scheduler.stop({ abort }).then(() => stopping);
      stopping = (async () => {
        await scheduler.stop({ abort });
        beats.abort();
        await heartbeatLoop;
        await beat();
        await ctx.catalog.close();
        log('daemon stopped');
      })();
      return stopping;
    },
    running: () => scheduler.running(),
    nextRuns: () => scheduler.nextRuns(),
  };
}
