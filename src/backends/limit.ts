/**
 * Limit decorator: at most `connections` operations reach the backend at once (restic's
 * `-o <backend>.connections`), and optionally uploads and downloads are held to a rate in
 * bytes per second (restic's --limit-upload / --limit-download, given there in KiB/s).
 */
import type { Backend, FileHandle } from './backend.js';

export interface LimitOptions {
  /** Operations in flight at once (default 5). */
  connections?: number;
  /** Bytes per second for save; undefined or 0 = unlimited. */
  uploadBytesPerSec?: number;
  /** Bytes per second for load; undefined or 0 = unlimited. */
  downloadBytesPerSec?: number;
}

/** A counting semaphore. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  get inFlight(): number {
    return this.active;
  }
}

/**
 * A token bucket shared by all transfers in one direction: each transfer of n bytes waits
 * until the bucket has let n bytes through at the rate; bursts up to one second's worth.
 */
export class RateLimiter {
  private nextFree: number;

  constructor(
    readonly bytesPerSec: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.nextFree = now() - 1000; // starts full
  }

  /** Resolves when `bytes` may pass. */
  async take(bytes: number): Promise<void> {
    const now = this.now();
    const start = Math.max(this.nextFree, now - 1000);
    this.nextFree = start + (bytes / this.bytesPerSec) * 1000;
    const wait = this.nextFree - now;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

export function limitBackend(inner: Backend, opts: LimitOptions = {}): Backend {
  const sem = new Semaphore(Math.max(1, opts.connections ?? 5));
  const up = opts.uploadBytesPerSec ? new RateLimiter(opts.uploadBytesPerSec) : undefined;
  const down = opts.downloadBytesPerSec ? new RateLimiter(opts.downloadBytesPerSec) : undefined;

  return {
    location: inner.location,
    create: () => sem.run(() => inner.create()),
    save: (h: FileHandle, data: Uint8Array) =>
      sem.run(async () => {
        await up?.take(data.length);
        await inner.save(h, data);
      }),
    saveFile: inner.saveFile
      ? (h, file, length) =>
          sem.run(async () => {
            await up?.take(length);
            await inner.saveFile!(h, file, length);
          })
      : undefined,
    load: (h, offset, length) =>
      sem.run(async () => {
        const data = await inner.load(h, offset, length);
        await down?.take(data.length);
        return data;
      }),
    localPath: inner.localPath ? (h) => inner.localPath!(h) : undefined,
    loadInto: inner.loadInto
      ? (h, offset, into) =>
          sem.run(async () => {
            await inner.loadInto!(h, offset, into);
            await down?.take(into.length);
          })
      : undefined,
    stat: (h) => sem.run(() => inner.stat(h)),
    list: (type) => sem.run(() => inner.list(type)),
    remove: (h) => sem.run(() => inner.remove(h)),
    isNotFound: (err) => inner.isNotFound(err),
    isPermanent: inner.isPermanent ? (err) => inner.isPermanent!(err) : undefined,
    canDelete: inner.canDelete ? (type) => sem.run(() => inner.canDelete!(type)) : undefined,
    retainedUntil: inner.retainedUntil ? (h) => sem.run(() => inner.retainedUntil!(h)) : undefined,
    close: () => inner.close(),
  };
}
