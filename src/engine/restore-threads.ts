/**
 * The threads of one restore (restore-worker.ts): each runs span jobs (restore-job.ts) one
 * after another, the main thread handing each the pack range it read (moved, not copied).
 * Jobs go to the thread with the fewest queued. A thread that dies fails its jobs with a
 * clear error. The threads end with the restore (`close`).
 */
import { Worker } from 'node:worker_threads';
import { type ErrorCode, fail, HoldfastError } from '../errors.js';
import { mergeTotals, type StageTotals } from './profile.js';
import type { JobOutcome, SpanJob } from './restore-job.js';

export interface RestoreRequest {
  seq: number;
  /** The master key as base64 of encrypt || macK || macR. */
  key: string;
  span: Uint8Array;
  job: SpanJob;
}

export type RestoreResponse = { seq: number; profile?: StageTotals } & (
  { ok: true; outcome: JobOutcome } | { ok: false; code?: ErrorCode; message: string }
);

const lostErrors = new WeakSet<object>();

/** True for the error of a job whose thread died: what it did to its files is unknown. */
export function isThreadLost(err: unknown): boolean {
  return typeof err === 'object' && err !== null && lostErrors.has(err);
}

interface Pending {
  resolve: (o: JobOutcome) => void;
  reject: (err: unknown) => void;
}

interface Thread {
  worker: Worker;
  jobs: Map<number, Pending>;
}

export class RestoreThreads {
  private readonly threads: Thread[] = [];
  private seq = 0;

  constructor(
    readonly size: number,
    private readonly key: string,
  ) {}

  /** Jobs queued or running, over all threads. */
  get queued(): number {
    return this.threads.reduce((n, t) => n + t.jobs.size, 0);
  }

  /** Runs a job on the least busy thread; `span` moves to it when it owns its memory. */
  run(span: Buffer, job: SpanJob): Promise<JobOutcome> {
    const t = this.pick();
    const seq = ++this.seq;
    const owns = span.byteOffset === 0 && span.byteLength === span.buffer.byteLength;
    const data = owns ? span : Uint8Array.prototype.slice.call(span);
    return new Promise<JobOutcome>((resolve, reject) => {
      t.jobs.set(seq, { resolve, reject });
      const req: RestoreRequest = { seq, key: this.key, span: data, job };
      t.worker.postMessage(req, [data.buffer as ArrayBuffer]);
    });
  }

  private pick(): Thread {
    let best: Thread | undefined;
    for (const t of this.threads) if (!best || t.jobs.size < best.jobs.size) best = t;
    if (best && (best.jobs.size === 0 || this.threads.length >= this.size)) return best;
    return this.spawn();
  }

  private spawn(): Thread {
    // No inherited flags: a parent run as `node --input-type=module -e …` would break the worker.
    const worker = new Worker(new URL('./restore-worker.js', import.meta.url), { execArgv: [] });
    const t: Thread = { worker, jobs: new Map() };
    worker.on('message', (res: RestoreResponse) => {
      if (res.profile) mergeTotals(res.profile, 'worker ');
      const p = t.jobs.get(res.seq);
      if (!p) return;
      t.jobs.delete(res.seq);
      if (res.ok) p.resolve(res.outcome);
      else p.reject(new HoldfastError(res.code ?? 'IO', res.message));
    });
    const lost = (why: string) => {
      const i = this.threads.indexOf(t);
      if (i >= 0) this.threads.splice(i, 1);
      const err = new HoldfastError('IO', `a restore thread stopped unexpectedly (${why})`);
      lostErrors.add(err);
      for (const p of t.jobs.values()) p.reject(err);
      t.jobs.clear();
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    this.threads.push(t);
    return t;
  }

  /** Ends every thread (call once no job is in flight). */
  async close(): Promise<void> {
    const threads = this.threads.splice(0);
    if (threads.some((t) => t.jobs.size > 0)) fail('IO', 'restore threads closed with jobs in flight');
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}
