/**
 * Time as the scheduler sees it: "what time is it" and "wake me in ms". `systemClock` is
 * the wall clock; `manualClock` is a clock tests move by hand, so schedules spanning days
 * run in milliseconds and always in the same order.
 */

export interface Clock {
  now(): Date;
  /**
   * Resolves once `ms` of wall-clock time has passed (at once for ms ≤ 0). When `signal`
   * aborts first, rejects with the signal's reason, as node:timers/promises does.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface ManualClock extends Clock {
  /**
   * Moves time forward by `ms`. Sleepers due by then wake one at a time in due order (ties
   * in the order they went to sleep), each at its own due time, and what they set off runs
   * before the next one wakes. Resolves when time stands at start + ms and all is quiet.
   */
  advance(ms: number): Promise<void>;
  /** How many sleepers are waiting. */
  sleepers(): number;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Longest single timer: a sleeper re-reads the wall clock at least this often. */
const MAX_TIMER_MS = 60_000;

/**
 * Sleeps against the wall clock rather than a single long timer: Node timers cannot exceed
 * ~24.8 days (a quarterly schedule needs more), and they do not advance while the machine
 * is suspended. Re-checking every minute keeps a woken sleeper at most a minute late.
 */
function sleepWallClock(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  const deadline = Date.now() + (Number.isNaN(ms) ? 0 : ms);
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const check = (): void => {
      const left = deadline - Date.now();
      if (left <= 0) {
        signal?.removeEventListener('abort', onAbort);
        resolve();
        return;
      }
      timer = setTimeout(check, Math.min(left, MAX_TIMER_MS));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    check();
  });
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: sleepWallClock,
};

interface Sleeper {
  due: number;
  seq: number;
  wake(): void;
}

/** Lets every promise chain a woken sleeper started run to its next real wait. */
async function settle(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A clock that stands still at `start` until `advance` moves it. */
export function manualClock(start: Date | number | string): ManualClock {
  let nowMs = new Date(start).getTime();
  if (Number.isNaN(nowMs)) throw new TypeError(`manualClock: invalid start time ${String(start)}`);
  let seq = 0;
  let advancing = false;
  const waiting: Sleeper[] = [];

  const remove = (s: Sleeper): void => {
    const i = waiting.indexOf(s);
    if (i >= 0) waiting.splice(i, 1);
  };
  const earliestDueBy = (limit: number): Sleeper | undefined => {
    let best: Sleeper | undefined;
    for (const s of waiting)
      if (
        s.due <= limit &&
        (best === undefined || s.due < best.due || (s.due === best.due && s.seq < best.seq))
      )
        best = s;
    return best;
  };

  return {
    now: () => new Date(nowMs),
    sleep(ms: number, signal?: AbortSignal): Promise<void> {
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      if (!(ms > 0)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          remove(sleeper);
          reject(abortReason(signal as AbortSignal));
        };
        const sleeper: Sleeper = {
          due: nowMs + ms,
          seq: seq++,
          wake: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        waiting.push(sleeper);
      });
    },
    async advance(ms: number): Promise<void> {
      if (advancing) throw new Error('manualClock: advance() called while another advance() is running');
      if (!(ms >= 0)) throw new RangeError(`manualClock: cannot advance by ${ms} ms`);
      advancing = true;
      try {
        const target = nowMs + ms;
        await settle();
        for (let s = earliestDueBy(target); s !== undefined; s = earliestDueBy(target)) {
          remove(s);
          nowMs = Math.max(nowMs, s.due);
          s.wake();
          await settle();
        }
        nowMs = target;
        await settle();
      } finally {
        advancing = false;
      }
    },
    sleepers: () => waiting.length,
  };
}
