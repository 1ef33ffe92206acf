/**
 * Retry decorator: repeats a failed operation with exponential backoff and jitter while the
 * error is transient. "Not found" and permanent errors are returned at once. Loads are
 * checked on the way: a short range, or a whole file whose SHA-256 is not its name (a read
 * truncated or damaged in transit), counts as a transient failure and is read again.
 */
import { createHash } from 'node:crypto';
import { HoldfastError, isHoldfastError } from '../errors.js';
import { type Backend, type FileHandle, isId, relativePath } from './backend.js';
import { errorText, isPermanentError, transientError } from './backend-error.js';

export interface RetryOptions {
  /** Attempts in all, the first included (default 8). */
  attempts?: number;
  /** Delay before the first retry (default 500 ms); doubled each time up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Source of randomness for the jitter (tests pass a seeded one). */
  random?: () => number;
  /** Told about each retry (e.g. to log it); never given secrets. */
  onRetry?: (what: string, attempt: number, err: unknown, delayMs: number) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function retryBackend(inner: Backend, opts: RetryOptions = {}): Backend {
  const attempts = Math.max(1, opts.attempts ?? 8);
  const base = opts.baseDelayMs ?? 500;
  const maxDelay = opts.maxDelayMs ?? 30_000;
  const random = opts.random ?? Math.random;

  const permanent = (err: unknown) =>
    inner.isNotFound(err) || (inner.isPermanent?.(err) ?? false) || isPermanentError(err);

  async function retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (permanent(err)) throw err;
        if (attempt >= attempts) {
          if (attempts === 1) throw err;
          const code = isHoldfastError(err) ? err.code : 'BACKEND';
          throw new HoldfastError(code, `${errorText(err)} (gave up after ${attempts} attempts)`, {
            cause: err,
          });
        }
        // Equal jitter: half the backoff fixed, half random, so retries spread out.
        const backoff = Math.min(maxDelay, base * 2 ** (attempt - 1));
        const delay = backoff / 2 + (random() * backoff) / 2;
        opts.onRetry?.(what, attempt, err, delay);
        await sleep(delay);
      }
    }
  }

  async function load(h: FileHandle, offset = 0, length?: number): Promise<Buffer> {
    const what = `load ${relativePath(h)}`;
    const whole = offset === 0 && length === undefined;
    const mismatched: Buffer[] = [];
    try {
      return await retry(what, async () => {
        const data = await inner.load(h, offset, length);
        if (length !== undefined && data.length !== length)
          throw transientError(`${what}: short read (${data.length} of ${length} bytes at ${offset})`);
        if (whole && h.type !== 'config' && isId(h.name)) {
          if (createHash('sha256').update(data).digest('hex') !== h.name) {
            mismatched.push(data);
            throw transientError(`${what}: content does not match its name`);
          }
        } else if (length === undefined) {
          // To the end of a file that is not content-named (config) or from an offset: the
          // size is what can be checked.
          const { size } = await inner.stat(h);
          if (size - offset !== data.length)
            throw transientError(
              `${what}: short read (${data.length} of ${size - offset} bytes at ${offset})`,
            );
        }
        return data;
      });
    } catch (err) {
      // The same wrong bytes every time (or no second chance): the stored file is damaged,
      // which the caller reports in its own words (check names the damaged blobs).
      const [a, b] = mismatched.slice(-2);
      const stored = attempts === 1 ? a : a && b && a.equals(b) ? a : undefined;
      if (stored && isHoldfastError(err, 'BACKEND')) return stored;
      throw err;
    }
  }

  /** A retried remove that finds the file gone succeeded earlier (its answer was lost). */
  async function remove(h: FileHandle): Promise<void> {
    let tries = 0;
    await retry(`remove ${relativePath(h)}`, async () => {
      try {
        await inner.remove(h);
      } catch (err) {
        if (tries++ > 0 && inner.isNotFound(err)) return;
        throw err;
      }
    });
  }

  return {
    location: inner.location,
    create: () => retry('create', () => inner.create()),
    save: (h, data) => retry(`save ${relativePath(h)}`, () => inner.save(h, data)),
    saveFile: inner.saveFile
      ? (h, file, length) => retry(`save ${relativePath(h)}`, () => inner.saveFile!(h, file, length))
      : undefined,
    load,
    localPath: inner.localPath ? (h) => inner.localPath!(h) : undefined,
    loadInto: inner.loadInto
      ? (h, offset, into) => retry(`load ${relativePath(h)}`, () => inner.loadInto!(h, offset, into))
      : undefined,
    stat: (h) => retry(`stat ${relativePath(h)}`, () => inner.stat(h)),
    list: (type) => retry(`list ${type}`, () => inner.list(type)),
    remove,
    isNotFound: (err) => inner.isNotFound(err),
    isPermanent: (err) => permanent(err),
    canDelete: inner.canDelete ? (type) => retry(`probe ${type}`, () => inner.canDelete!(type)) : undefined,
    retainedUntil: inner.retainedUntil
      ? (h) => retry(`retention of ${relativePath(h)}`, () => inner.retainedUntil!(h))
      : undefined,
    close: () => inner.close(),
  };
}
