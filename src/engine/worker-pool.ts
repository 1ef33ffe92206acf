/**
 * A small pool of worker threads for the per-blob work (blob-worker.ts): hashing, sealing,
 * opening and pack verification on the other cores while the main thread reads and chunks.
 * One pool serves the whole process. Threads start when first needed, hold the event loop
 * open only while they have work (so the process exits when it is done), and a thread that
 * dies fails its jobs with a clear error; the next job starts a fresh thread.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { fail, HoldfastError } from '../errors.js';
import { formatTotals, mergeTotals, profiling } from './profile.js';
import type { WorkerJob, WorkerResponse, WorkerResult } from './worker-protocol.js';

interface Pending {
  resolve: (r: WorkerResult) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Pending>;
}

const lostErrors = new WeakSet<object>();

/** True for the error of a job whose thread died: what the job did (to files, say) is unknown. */
export function isWorkerLost(err: unknown): boolean {
  return typeof err === 'object' && err !== null && lostErrors.has(err);
}

/** Worker threads to use when not told: HOLDFAST_WORKERS, else one per core (at most 4). */
export function defaultWorkerCount(): number {
  const env = process.env.HOLDFAST_WORKERS;
  if (env !== undefined && /^\d+$/.test(env)) return Number(env);
  return Math.min(4, availableParallelism());
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private seq = 0;
  private closed = false;

  constructor(public size: number) {}

  /** Thread IDs of the running workers (tests watch them shut down). */
  get threadIds(): number[] {
    return this.slots.map((s) => s.worker.threadId);
  }

  /**
   * Runs one job on the least busy thread; buffers in `transfer` move to the worker. With
   * `maxThreads`, only the first that many threads are used (and started).
   */
  run<T extends WorkerResult>(
    job: WorkerJob,
    transfer: ArrayBuffer[] = [],
    maxThreads = this.size,
  ): Promise<T> {
    if (this.closed) fail('IO', 'the blob worker pool is closed');
    const slot = this.pick(Math.max(1, Math.min(maxThreads, this.size)));
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      if (slot.jobs.size === 0) slot.worker.ref();
      slot.jobs.set(seq, { resolve: resolve as (r: WorkerResult) => void, reject });
      slot.worker.postMessage({ ...job, seq }, transfer);
    });
  }

  private pick(max: number): Slot {
    let best: Slot | undefined;
    for (const s of this.slots.slice(0, max)) if (!best || s.jobs.size < best.jobs.size) best = s;
    if (best && (best.jobs.size === 0 || this.slots.length >= max)) return best;
    return this.spawn();
  }

  private spawn(): Slot {
    // No inherited flags: a parent run as `node --input-type=module -e …` would break the worker.
    const worker = new Worker(new URL('./blob-worker.js', import.meta.url), { execArgv: [] });
    const slot: Slot = { worker, jobs: new Map() };
    worker.unref();
    worker.on('message', (res: WorkerResponse) => {
      if (res.profile) mergeTotals(res.profile, 'worker ');
      const p = slot.jobs.get(res.seq);
      if (!p) return;
      slot.jobs.delete(res.seq);
      if (slot.jobs.size === 0) worker.unref();
      if (res.ok) p.resolve(res);
      else p.reject(new HoldfastError(res.code ?? 'IO', res.message));
    });
    const lost = (why: string) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const err = new HoldfastError('IO', `a blob worker thread stopped unexpectedly (${why})`);
      lostErrors.add(err);
      for (const p of slot.jobs.values()) p.reject(err);
      slot.jobs.clear();
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    this.slots.push(slot);
    return slot;
  }

  /** Stops every thread; jobs still running fail. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

let shared: WorkerPool | undefined;

/** The process-wide pool, grown to at least `size` threads. */
export function sharedPool(size: number): WorkerPool {
  if (!shared) shared = new WorkerPool(size);
  else shared.size = Math.max(shared.size, size);
  return shared;
}

/** Terminates the process-wide pool (a later job starts a new one). */
export async function shutdownWorkers(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}

if (profiling) {
  // Worker threads report with every response; the main thread prints the table once, with
  // the peaks of the process's memory (sampled every 50 ms).
  const peak = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    for (const k of Object.keys(peak) as (keyof typeof peak)[]) peak[k] = Math.max(peak[k], m[k]);
  };
  setInterval(sample, 50).unref();
  process.on('exit', () => {
    sample();
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    const mem = Object.entries(peak)
      .map(([k, v]) => `${k} ${mib(v)}`)
      .join(', ');
    process.stderr.write(`${formatTotals()}\n  peak memory: ${mem}\n`);
  });
}
