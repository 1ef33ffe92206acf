/**
 * The scheduler on a manual clock (days pass in milliseconds): runs start at their slots,
 * a downtime is caught up once, the concurrency limit holds, a slow job never overlaps
 * itself, failures stay contained, update() and stop() do what they say.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isHoldfastError } from '../errors.js';
import { manualClock, systemClock, type ManualClock } from './clock.js';
import { parseSchedule } from './cron.js';
import {
  catchUpSlot,
  dueSlot,
  startScheduler,
  type ScheduleEntry,
  type SchedulerEvent,
  type SchedulerHandle,
  type SchedulerOptions,
} from './scheduler.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const d = (iso: string): Date => new Date(iso);
const hhmm = (date: Date): string => date.toISOString().slice(11, 16);
const entry = (id: string, cron: string, timezone?: string): ScheduleEntry => ({
  id,
  schedule: parseSchedule(cron, timezone),
});

interface Harness {
  clock: ManualClock;
  handle: SchedulerHandle;
  events: SchedulerEvent[];
  /** "id@slot>start" for every start, in order (times as HH:MM UTC). */
  starts(): string[];
  of<T extends SchedulerEvent['type']>(type: T): Extract<SchedulerEvent, { type: T }>[];
}

function harness(
  start: string,
  options: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'entries'>,
): Harness {
  const clock = manualClock(d(start));
  const events: SchedulerEvent[] = [];
  const handle = startScheduler({
    concurrency: 4,
    clock,
    lastRun: () => clock.now(), // nothing missed unless a test says so
    run: async () => {},
    onEvent: (e) => events.push(e),
    ...options,
  });
  return {
    clock,
    handle,
    events,
    starts: () =>
      events.flatMap((e) => (e.type === 'start' ? [`${e.id}@${hhmm(e.slot)}>${hhmm(e.at)}`] : [])),
    of: <T extends SchedulerEvent['type']>(type: T) =>
      events.filter((e): e is Extract<SchedulerEvent, { type: T }> => e.type === type),
  };
}

/** Counts runs in flight, overall and per id, and keeps the highs. */
function probe(clock: ManualClock, durationMs: (id: string) => number) {
  const now = new Map<string, number>();
  const max = new Map<string, number>();
  let total = 0;
  let maxTotal = 0;
  const run = async (id: string, _slot: Date, signal: AbortSignal): Promise<void> => {
    total++;
    now.set(id, (now.get(id) ?? 0) + 1);
    maxTotal = Math.max(maxTotal, total);
    max.set(id, Math.max(max.get(id) ?? 0, now.get(id) ?? 0));
    try {
      await clock.sleep(durationMs(id), signal);
    } finally {
      total--;
      now.set(id, (now.get(id) ?? 0) - 1);
    }
  };
  return { run, maxTotal: () => maxTotal, maxPerId: () => Math.max(...max.values()) };
}

describe('scheduler', () => {
  test('starts each run at its slot and reports when the next one is', async () => {
    const h = harness('2024-01-01T00:01:00Z', { entries: [entry('db', '*/10 * * * *')] });
    await h.handle.ready;
    assert.deepEqual(h.handle.nextRuns(), [{ id: 'db', at: d('2024-01-01T00:10:00Z') }]);
    await h.clock.advance(35 * MIN);
    assert.deepEqual(h.starts(), ['db@00:10>00:10', 'db@00:20>00:20', 'db@00:30>00:30']);
    assert.equal(h.of('finish').length, 3);
    assert.deepEqual(h.handle.nextRuns(), [{ id: 'db', at: d('2024-01-01T00:40:00Z') }]);
    await h.handle.stop();
  });

  test('runs a New York schedule at 03:00 New York time, a UTC one at 03:00 UTC', async () => {
    const h = harness('2024-06-15T00:00:00Z', {
      entries: [entry('ny', '0 3 * * *', 'America/New_York'), entry('utc', '0 3 * * *')],
    });
    await h.clock.advance(24 * HOUR);
    assert.deepEqual(h.starts(), ['utc@03:00>03:00', 'ny@07:00>07:00']);
    await h.handle.stop();
  });

  test('after a downtime spanning several slots, catches up the missed run exactly once', async () => {
    const lastRuns: Record<string, Date | undefined> = {
      missed: d('2024-01-01T00:00:00Z'), // slots 01:00..05:00 were missed
      current: d('2024-01-01T05:00:00Z'), // ran at the latest slot
      fresh: undefined, // never ran
    };
    const h = harness('2024-01-01T05:30:00Z', {
      entries: [entry('missed', '0 * * * *'), entry('current', '0 * * * *'), entry('fresh', '0 */2 * * *')],
      lastRun: async (id) => lastRuns[id],
    });
    await h.handle.ready;
    await h.clock.advance(0);
    assert.deepEqual(h.starts(), ['missed@05:00>05:30', 'fresh@04:00>05:30']);
    assert.ok(h.of('start').every((e) => e.catchUp));
    await h.clock.advance(HOUR);
    assert.deepEqual(h.starts().slice(2), ['missed@06:00>06:00', 'current@06:00>06:00', 'fresh@06:00>06:00']);
    assert.ok(
      h
        .of('start')
        .slice(2)
        .every((e) => !e.catchUp),
    );
    await h.handle.stop();
  });

  test('never runs more than the concurrency limit; the rest start in FIFO order and keep their slot', async () => {
    const clock = manualClock(d('2024-01-01T00:30:00Z'));
    const p = probe(clock, () => 10 * MIN);
    const events: SchedulerEvent[] = [];
    const handle = startScheduler({
      entries: ['a', 'b', 'c', 'd', 'e'].map((id) => entry(id, '0 * * * *')),
      concurrency: 2,
      clock,
      lastRun: () => d('2024-01-01T00:00:00Z'),
      run: p.run,
      onEvent: (e) => events.push(e),
    });
    await clock.advance(2 * HOUR);
    assert.equal(p.maxTotal(), 2);
    const starts = events.flatMap((e) =>
      e.type === 'start' ? [`${e.id}@${hhmm(e.slot)}>${hhmm(e.at)}`] : [],
    );
    assert.deepEqual(starts.slice(0, 5), [
      'a@01:00>01:00',
      'b@01:00>01:00',
      'c@01:00>01:10',
      'd@01:00>01:10',
      'e@01:00>01:20',
    ]);
    assert.deepEqual(
      events.flatMap((e) => (e.type === 'wait' && hhmm(e.slot) === '01:00' ? [`${e.id}:${e.reason}`] : [])),
      ['c:concurrency', 'd:concurrency', 'e:concurrency'],
    );
    assert.equal(starts.length, 10);
    await handle.stop();
  });

  test('a slow job never starts twice at once: a slot during a run waits, a newer one supersedes it', async () => {
    const clock = manualClock(d('2024-01-01T00:00:30Z'));
    const p = probe(clock, () => 25 * MIN);
    const events: SchedulerEvent[] = [];
    const handle = startScheduler({
      entries: [entry('slow', '*/10 * * * *')],
      concurrency: 4,
      clock,
      lastRun: () => d('2024-01-01T00:00:00Z'),
      run: p.run,
      onEvent: (e) => events.push(e),
    });
    await clock.advance(60 * MIN);
    assert.equal(p.maxPerId(), 1);
    const summary = events.map((e) => `${e.type}:${hhmm('slot' in e ? e.slot : e.at)}@${hhmm(e.at)}`);
    assert.deepEqual(summary, [
      'start:00:10@00:10',
      'wait:00:20@00:20',
      'skip:00:20@00:30', // superseded by 00:30
      'finish:00:10@00:35',
      'start:00:30@00:35',
      'wait:00:40@00:40',
      'skip:00:40@00:50',
      'finish:00:30@01:00',
      'start:00:50@01:00',
      'wait:01:00@01:00',
    ]);
    assert.ok(
      events.filter((e) => e.type === 'skip').every((e) => e.type === 'skip' && e.reason === 'superseded'),
    );
    await handle.stop({ abort: true });
  });

  test('a failing or throwing job is reported and does not stop the others or its own next slot', async () => {
    const failures: string[] = [];
    let finishes = 0;
    const h = harness('2024-01-01T00:30:00Z', {
      entries: [entry('rejects', '0 * * * *'), entry('throws', '0 * * * *'), entry('fine', '0 * * * *')],
      run: (id) => {
        if (id === 'throws') throw new Error('sync boom');
        if (id === 'rejects') return Promise.reject(new Error('async boom'));
        return Promise.resolve();
      },
      onEvent: (e) => {
        if (e.type === 'fail') failures.push(`${e.id}:${(e.error as Error).message}:${e.aborted}`);
        if (e.type === 'finish') finishes++;
        throw new Error('a broken log does not break the scheduler');
      },
    });
    await h.clock.advance(2 * HOUR);
    assert.deepEqual(failures.sort(), [
      'rejects:async boom:false',
      'rejects:async boom:false',
      'throws:sync boom:false',
      'throws:sync boom:false',
    ]);
    assert.equal(finishes, 2, 'the healthy job ran at both slots');
    assert.equal(h.handle.running().length, 0);
    await h.handle.stop();
  });

  test('a lastRun that fails is reported and the entry is treated as never run', async () => {
    const h = harness('2024-01-01T00:30:00Z', {
      entries: [entry('db', '0 * * * *')],
      lastRun: () => Promise.reject(new Error('catalog down')),
    });
    await h.handle.ready;
    await h.clock.advance(0);
    assert.equal(h.of('error').length, 1);
    assert.deepEqual(h.starts(), ['db@00:00>00:30']);
    await h.handle.stop();
  });

  test('update() picks up a changed schedule, drops removed entries, keeps running jobs going', async () => {
    const clock = manualClock(d('2024-01-01T00:05:00Z'));
    const events: SchedulerEvent[] = [];
    const handle = startScheduler({
      entries: [entry('db', '0 * * * *'), entry('files', '*/10 * * * *')],
      concurrency: 4,
      clock,
      lastRun: () => clock.now(),
      run: async (id, _slot, signal) => {
        if (id === 'files') await clock.sleep(15 * MIN, signal);
      },
      onEvent: (e) => events.push(e),
    });
    await clock.advance(5 * MIN); // 00:10: files starts, runs until 00:25
    assert.deepEqual(handle.running(), ['files']);
    await handle.update([entry('db', '*/15 * * * *')]);
    assert.deepEqual(handle.nextRuns(), [{ id: 'db', at: d('2024-01-01T00:15:00Z') }]);
    assert.deepEqual(handle.running(), ['files']);
    await clock.advance(50 * MIN); // to 01:00
    const starts = events.flatMap((e) => (e.type === 'start' ? [`${e.id}@${hhmm(e.slot)}`] : []));
    assert.deepEqual(starts, ['files@00:10', 'db@00:15', 'db@00:30', 'db@00:45', 'db@01:00']);
    assert.ok(
      events.some((e) => e.type === 'finish' && e.id === 'files'),
      'the removed entry finished its run',
    );
    await handle.stop();
  });

  test('update() catches up a new entry that never ran, and rejects duplicate ids', async () => {
    const h = harness('2024-01-01T00:05:00Z', {
      entries: [entry('db', '0 * * * *')],
      lastRun: (id) => (id === 'db' ? d('2024-01-01T00:00:00Z') : undefined),
    });
    await h.handle.update([entry('db', '0 * * * *'), entry('new', '0 3 * * *')]);
    await h.clock.advance(0);
    assert.deepEqual(h.starts(), ['new@03:00>00:05']);
    assert.throws(
      () => h.handle.update([entry('x', '0 * * * *'), entry('x', '0 3 * * *')]),
      (err) => isHoldfastError(err, 'INVALID_ARGUMENT'),
    );
    await h.handle.stop();
  });

  test('stop({abort: true}) aborts running jobs through their signal, drops waiting ones, and resolves', async () => {
    const clock = manualClock(d('2024-01-01T00:30:00Z'));
    const events: SchedulerEvent[] = [];
    const handle = startScheduler({
      entries: [entry('a', '0 * * * *'), entry('b', '0 * * * *')],
      concurrency: 1,
      clock,
      lastRun: () => clock.now(),
      run: (_id, _slot, signal) => clock.sleep(24 * HOUR, signal),
      onEvent: (e) => events.push(e),
    });
    await clock.advance(45 * MIN);
    assert.deepEqual(handle.running(), ['a']);
    await handle.stop({ abort: true });
    assert.deepEqual(handle.running(), []);
    const fail = events.find((e) => e.type === 'fail');
    assert.ok(fail?.type === 'fail' && fail.id === 'a' && fail.aborted);
    assert.ok(isHoldfastError(fail.error, 'INTERRUPTED'));
    assert.ok(events.some((e) => e.type === 'skip' && e.id === 'b' && e.reason === 'stopped'));
    assert.equal(clock.sleepers(), 0, 'nothing is left waiting on the clock');
    await clock.advance(3 * HOUR);
    assert.equal(events.filter((e) => e.type === 'start').length, 1, 'nothing starts after stop');
  });

  test('stop() without abort waits for the running job to finish', async () => {
    const clock = manualClock(d('2024-01-01T00:30:00Z'));
    let finished = false;
    const handle = startScheduler({
      entries: [entry('a', '0 * * * *')],
      concurrency: 1,
      clock,
      lastRun: () => clock.now(),
      run: async (_id, _slot, signal) => {
        await clock.sleep(20 * MIN, signal);
        finished = true;
      },
    });
    await clock.advance(40 * MIN); // 01:10, the 01:00 run is halfway
    let stopped = false;
    const stopping = handle.stop().then(() => (stopped = true));
    await clock.advance(5 * MIN);
    assert.equal(stopped, false);
    await clock.advance(5 * MIN);
    await stopping;
    assert.ok(finished && stopped);
  });

  test('rejects a concurrency below one and duplicate ids', () => {
    const base = { clock: manualClock(0), lastRun: () => undefined, run: async () => {} };
    assert.throws(
      () => startScheduler({ ...base, entries: [], concurrency: 0 }),
      (err) => isHoldfastError(err, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () =>
        startScheduler({ ...base, entries: [entry('x', '@daily'), entry('x', '@hourly')], concurrency: 1 }),
      (err) => isHoldfastError(err, 'INVALID_ARGUMENT'),
    );
  });
});

describe('slot arithmetic', () => {
  const hourly = parseSchedule('0 * * * *');

  test('catchUpSlot: the latest slot when it is newer than the last run, or the entry never ran', () => {
    const now = d('2024-01-01T05:30:00Z');
    assert.equal(
      catchUpSlot(hourly, now, d('2024-01-01T01:00:00Z'))?.toISOString(),
      '2024-01-01T05:00:00.000Z',
    );
    assert.equal(catchUpSlot(hourly, now, undefined)?.toISOString(), '2024-01-01T05:00:00.000Z');
    assert.equal(catchUpSlot(hourly, now, d('2024-01-01T05:00:00Z')), undefined);
    assert.equal(catchUpSlot(hourly, now, d('2024-01-01T05:12:00Z')), undefined, 'a late start counts');
  });

  test('dueSlot: a stalled wake-up runs the latest slot once, then the next', () => {
    const { slot, next } = dueSlot(hourly, d('2024-01-01T01:00:00Z'), d('2024-01-01T05:30:00Z'));
    assert.equal(slot.toISOString(), '2024-01-01T05:00:00.000Z');
    assert.equal(next?.toISOString(), '2024-01-01T06:00:00.000Z');
    const onTime = dueSlot(hourly, d('2024-01-01T01:00:00Z'), d('2024-01-01T01:00:00Z'));
    assert.equal(onTime.slot.toISOString(), '2024-01-01T01:00:00.000Z');
    assert.equal(onTime.next?.toISOString(), '2024-01-01T02:00:00.000Z');
  });
});

describe('manualClock', () => {
  test('wakes sleepers in due order at their own time, and an aborted sleeper never', async () => {
    const clock = manualClock(d('2024-01-01T00:00:00Z'));
    const woke: string[] = [];
    const nap = (name: string, ms: number, signal?: AbortSignal) =>
      clock.sleep(ms, signal).then(
        () => woke.push(`${name}@${clock.now().getTime() - d('2024-01-01T00:00:00Z').getTime()}`),
        () => woke.push(`${name}:aborted`),
      );
    const ctl = new AbortController();
    void nap('c', 300);
    void nap('a', 100);
    void nap('b', 100);
    void nap('x', 200, ctl.signal);
    ctl.abort();
    await clock.advance(250);
    assert.deepEqual(woke, ['x:aborted', 'a@100', 'b@100']);
    assert.equal(clock.sleepers(), 1);
    assert.equal(clock.now().toISOString(), '2024-01-01T00:00:00.250Z');
    await clock.advance(50);
    assert.deepEqual(woke.at(-1), 'c@300');
  });
});

describe('systemClock', () => {
  test('sleeps about as long as asked, and an abort rejects at once with the reason', async () => {
    const t0 = Date.now();
    await systemClock.sleep(20);
    assert.ok(Date.now() - t0 >= 19);
    const ctl = new AbortController();
    const sleeping = systemClock.sleep(60 * 60_000, ctl.signal);
    ctl.abort(new Error('enough'));
    await assert.rejects(sleeping, /enough/);
    await assert.rejects(systemClock.sleep(10, ctl.signal), /enough/);
  });
});
