/**
 * Runs entries at the slots of their cron schedules, knowing nothing of what a run does.
 *
 * - Each slot of an entry's schedule starts one run, identified by that slot (a run that
 *   starts late, waiting for a free place, still counts as its slot).
 * - One run per entry at a time. A slot that comes while the entry runs waits behind it;
 *   an entry holds at most one waiting run: a newer slot takes over the waiting run's place
 *   and the older slot is reported skipped ("superseded"). So a slow job runs again at once
 *   after it ends, never twice at once, never a backlog.
 * - At most `concurrency` runs at once; waiting runs start in FIFO order (a run waiting for
 *   its own entry's previous run lets the ones behind it pass).
 * - Catch-up: when an entry starts being scheduled (start, or update with a new or changed
 *   schedule), if its latest slot at or before now is later than `lastRun(id)`, or
 *   `lastRun(id)` is undefined (never ran), that slot runs once now: however many slots a
 *   downtime spanned, one run makes up for them.
 * - A failing run is reported and changes nothing else.
 */
import { HoldfastError, fail } from '../errors.js';
import { systemClock, type Clock } from './clock.js';
import { nextRun, previousRun, sameSchedule, type Schedule } from './cron.js';

export interface ScheduleEntry {
  readonly id: string;
  readonly schedule: Schedule;
}

export type SkipReason =
  /** A newer slot of the same entry took this waiting run's place. */
  | 'superseded'
  /** The entry was removed by update() before the run could start. */
  | 'removed'
  /** The scheduler stopped before the run could start. */
  | 'stopped';

export type SchedulerEvent =
  | { type: 'start'; id: string; slot: Date; at: Date; catchUp: boolean }
  | { type: 'finish'; id: string; slot: Date; at: Date; durationMs: number }
  | { type: 'fail'; id: string; slot: Date; at: Date; durationMs: number; error: unknown; aborted: boolean }
  | { type: 'wait'; id: string; slot: Date; at: Date; reason: 'running' | 'concurrency' }
  | { type: 'skip'; id: string; slot: Date; at: Date; reason: SkipReason }
  /** `lastRun(id)` failed; the entry is then treated as never run (a backup too many beats one too few). */
  | { type: 'error'; id: string; at: Date; error: unknown };

export interface SchedulerOptions {
  entries: readonly ScheduleEntry[];
  /** Most runs at once, ≥ 1. */
  concurrency: number;
  clock?: Clock;
  /** The slot (or the start time) of the entry's most recent run; undefined when it never ran. */
  lastRun: (id: string) => Date | undefined | Promise<Date | undefined>;
  /** Does the work of one run. `signal` aborts when the scheduler is stopped with abort. */
  run: (id: string, slot: Date, signal: AbortSignal) => Promise<void>;
  /** Called synchronously; an exception it throws is ignored. */
  onEvent?: (event: SchedulerEvent) => void;
}

export interface SchedulerHandle {
  /** Resolves once the start-up catch-up decisions are made (catch-up runs started or queued). */
  readonly ready: Promise<void>;
  /**
   * Starts nothing more (waiting runs are dropped and reported skipped), then waits for the
   * running ones; with `abort`, first aborts them through their signal. A second call with
   * `abort` escalates a graceful stop.
   */
  stop(options?: { abort?: boolean }): Promise<void>;
  /**
   * Replaces the entries: new and changed schedules take effect at once (with the catch-up
   * check), removed entries are no longer scheduled (their waiting run is dropped), running
   * runs continue. Resolves once the catch-up decisions are made.
   */
  update(entries: readonly ScheduleEntry[]): Promise<void>;
  /** Ids of the entries running now, in the order they started. */
  running(): string[];
  /** The next slot of every entry that has one, soonest first. */
  nextRuns(): { id: string; at: Date }[];
}

/**
 * The slot to catch up when an entry starts being scheduled at `now`: its latest slot at
 * or before now, when that is later than `lastRun` or the entry never ran; else undefined.
 */
export function catchUpSlot(schedule: Schedule, now: Date, lastRun: Date | undefined): Date | undefined {
  const slot = previousRun(schedule, now);
  if (slot === undefined) return undefined;
  if (lastRun !== undefined && lastRun.getTime() >= slot.getTime()) return undefined;
  return slot;
}

/**
 * The slot to run when the clock reads `now` and the entry's next slot `due` has come: the
 * latest slot by now (a stalled clock or process collapses several into one), and the slot
 * after now.
 */
export function dueSlot(schedule: Schedule, due: Date, now: Date): { slot: Date; next: Date | undefined } {
  const after = nextRun(schedule, due);
  const slot = after !== undefined && after <= now ? (previousRun(schedule, now) ?? due) : due;
  return { slot, next: nextRun(schedule, now) };
}

export function startScheduler(options: SchedulerOptions): SchedulerHandle {
  return new Scheduler(options);
}

interface EntryState {
  readonly id: string;
  readonly schedule: Schedule;
  nextAt: Date | undefined;
}

interface WaitingRun {
  readonly id: string;
  slot: Date;
  catchUp: boolean;
}

interface ActiveRun {
  readonly id: string;
  readonly controller: AbortController;
  done: Promise<void>;
}

function checkEntries(entries: readonly ScheduleEntry[]): void {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.id))
      fail('INVALID_ARGUMENT', `schedule entry "${e.id}" is listed twice: give each entry its own id`);
    seen.add(e.id);
  }
}

/** Resolves when `signal` aborts. */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

class Scheduler implements SchedulerHandle {
  readonly ready: Promise<void>;
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly lastRun: SchedulerOptions['lastRun'];
  private readonly runJob: SchedulerOptions['run'];
  private readonly onEvent: SchedulerOptions['onEvent'];

  /** Current entries by id, in the order given; a changed schedule gets a new object. */
  private entries = new Map<string, EntryState>();
  private queue: WaitingRun[] = [];
  private readonly active = new Map<string, ActiveRun>();
  /** The newest slot offered per id, so an older one (a late catch-up) never runs after it. */
  private readonly newestSlot = new Map<string, Date>();
  private stopped = false;
  private wakeLoop: AbortController | undefined;
  private readonly loopDone: Promise<void>;

  constructor(options: SchedulerOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1)
      fail(
        'INVALID_ARGUMENT',
        `scheduler concurrency must be a whole number ≥ 1, not ${options.concurrency}`,
      );
    checkEntries(options.entries);
    this.clock = options.clock ?? systemClock;
    this.concurrency = options.concurrency;
    this.lastRun = options.lastRun;
    this.runJob = options.run;
    this.onEvent = options.onEvent;
    const now = this.clock.now();
    const fresh = options.entries.map((e) => this.track(e, now));
    for (const state of fresh) this.entries.set(state.id, state);
    this.ready = this.catchUp(fresh, now);
    this.loopDone = this.loop();
  }

  running(): string[] {
    return [...this.active.keys()];
  }

  nextRuns(): { id: string; at: Date }[] {
    const out: { id: string; at: Date }[] = [];
    for (const e of this.entries.values()) if (e.nextAt !== undefined) out.push({ id: e.id, at: e.nextAt });
    return out.sort((a, b) => a.at.getTime() - b.at.getTime());
  }

  update(entries: readonly ScheduleEntry[]): Promise<void> {
    checkEntries(entries);
    if (this.stopped) return Promise.resolve();
    const now = this.clock.now();
    const keep = new Set(entries.map((e) => e.id));
    for (const id of this.entries.keys()) if (!keep.has(id)) this.forget(id);
    const next = new Map<string, EntryState>();
    const fresh: EntryState[] = [];
    for (const e of entries) {
      const old = this.entries.get(e.id);
      if (old !== undefined && sameSchedule(old.schedule, e.schedule)) {
        next.set(e.id, old);
      } else {
        const state = this.track(e, now);
        next.set(e.id, state);
        fresh.push(state);
      }
    }
    this.entries = next;
    this.wakeLoop?.abort();
    return this.catchUp(fresh, now);
  }

  async stop(options: { abort?: boolean } = {}): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.wakeLoop?.abort();
      const dropped = this.queue;
      this.queue = [];
      for (const w of dropped) this.emitSkip(w.id, w.slot, 'stopped');
    }
    if (options.abort)
      for (const run of this.active.values())
        if (!run.controller.signal.aborted)
          run.controller.abort(
            new HoldfastError('INTERRUPTED', 'the scheduler was stopped while this job ran'),
          );
    await this.loopDone;
    while (this.active.size > 0) await Promise.all([...this.active.values()].map((r) => r.done));
  }

  /** A new state for an entry that starts being scheduled (or whose schedule changed). */
  private track(e: ScheduleEntry, now: Date): EntryState {
    return { id: e.id, schedule: e.schedule, nextAt: nextRun(e.schedule, now) };
  }

  /** An entry leaves: its waiting run is dropped; a running one continues. */
  private forget(id: string): void {
    this.entries.delete(id);
    const i = this.queue.findIndex((w) => w.id === id);
    if (i >= 0) {
      const [w] = this.queue.splice(i, 1);
      this.emitSkip(id, w.slot, 'removed');
    }
    this.newestSlot.delete(id);
  }

  private async catchUp(states: EntryState[], now: Date): Promise<void> {
    const decided = await Promise.all(
      states.map(async (state) => {
        if (previousRun(state.schedule, now) === undefined) return undefined;
        let last: Date | undefined;
        try {
          last = await this.lastRun(state.id);
        } catch (error) {
          this.emit({ type: 'error', id: state.id, at: this.clock.now(), error });
          last = undefined;
        }
        const valid = last instanceof Date && !Number.isNaN(last.getTime()) ? last : undefined;
        const slot = catchUpSlot(state.schedule, now, valid);
        return slot === undefined ? undefined : { state, slot };
      }),
    );
    // Offered in entry order once all are known, so the FIFO order does not depend on which
    // lastRun answered first.
    for (const d of decided)
      if (d !== undefined && !this.stopped && this.entries.get(d.state.id) === d.state)
        this.offer(d.state.id, d.slot, true);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const now = this.clock.now();
      this.fireDue(now);
      const wakeAt = this.earliestNext();
      const wake = new AbortController();
      this.wakeLoop = wake;
      try {
        if (wakeAt === undefined) await untilAborted(wake.signal);
        else await this.clock.sleep(wakeAt.getTime() - now.getTime(), wake.signal);
      } catch {
        // Woken early by update() or stop(); the loop re-reads the clock.
      }
    }
  }

  private earliestNext(): Date | undefined {
    let earliest: Date | undefined;
    for (const e of this.entries.values())
      if (e.nextAt !== undefined && (earliest === undefined || e.nextAt < earliest)) earliest = e.nextAt;
    return earliest;
  }

  /** Offers the slot of every entry whose next slot has come, oldest slot first. */
  private fireDue(now: Date): void {
    const due = [...this.entries.values()]
      .filter((e) => e.nextAt !== undefined && e.nextAt <= now)
      .sort((a, b) => (a.nextAt as Date).getTime() - (b.nextAt as Date).getTime());
    for (const state of due) {
      if (this.stopped || this.entries.get(state.id) !== state || state.nextAt === undefined) continue;
      const { slot, next } = dueSlot(state.schedule, state.nextAt, now);
      state.nextAt = next;
      this.offer(state.id, slot, false);
    }
  }

  /** A slot of entry `id` has come: queue a run for it, or let it take over the waiting run. */
  private offer(id: string, slot: Date, catchUp: boolean): void {
    if (this.stopped) return;
    const newest = this.newestSlot.get(id);
    if (newest !== undefined && slot <= newest) {
      if (slot < newest) this.emitSkip(id, slot, 'superseded');
      return;
    }
    this.newestSlot.set(id, slot);
    const waiting = this.queue.find((w) => w.id === id);
    if (waiting !== undefined) {
      this.emitSkip(id, waiting.slot, 'superseded');
      waiting.slot = slot;
      waiting.catchUp = catchUp;
      return;
    }
    this.queue.push({ id, slot, catchUp });
    this.dispatch();
    if (this.queue.some((w) => w.id === id))
      this.emit({
        type: 'wait',
        id,
        slot,
        at: this.clock.now(),
        reason: this.active.has(id) ? 'running' : 'concurrency',
      });
  }

  /** Starts waiting runs, first come first served, while there is room. */
  private dispatch(): void {
    if (this.stopped) return;
    for (let i = 0; i < this.queue.length && this.active.size < this.concurrency;) {
      const w = this.queue[i];
      if (this.active.has(w.id)) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.start(w);
    }
  }

  private start(w: WaitingRun): void {
    const controller = new AbortController();
    const run: ActiveRun = { id: w.id, controller, done: Promise.resolve() };
    this.active.set(w.id, run);
    const started = this.clock.now();
    this.emit({ type: 'start', id: w.id, slot: w.slot, at: started, catchUp: w.catchUp });
    run.done = (async () => {
      // The job starts on the next microtask, never inside dispatch()'s loop.
      await null;
      try {
        await this.runJob(w.id, w.slot, controller.signal);
        const at = this.clock.now();
        this.emit({
          type: 'finish',
          id: w.id,
          slot: w.slot,
          at,
          durationMs: at.getTime() - started.getTime(),
        });
      } catch (error) {
        const at = this.clock.now();
        this.emit({
          type: 'fail',
          id: w.id,
          slot: w.slot,
          at,
          durationMs: at.getTime() - started.getTime(),
          error,
          aborted: controller.signal.aborted,
        });
      } finally {
        this.active.delete(w.id);
        this.dispatch();
      }
    })();
  }

  private emitSkip(id: string, slot: Date, reason: SkipReason): void {
    this.emit({ type: 'skip', id, slot, at: this.clock.now(), reason });
  }

  private emit(event: SchedulerEvent): void {
    try {
      this.onEvent?.(event);
    } catch {
      // A broken log must not break the schedule.
    }
  }
}
