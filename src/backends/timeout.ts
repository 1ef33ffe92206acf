/**
 * Timeout decorator: an operation that has not finished within its time limit fails with a
 * transient error (the retry decorator above it tries again). The abandoned operation may
 * still finish; saves are atomic and content-named, so a late one is harmless.
 */
import type { Backend, FileHandle } from './backend.js';
import { relativePath } from './backend.js';
import { transientError } from './backend-error.js';

export interface TimeoutOptions {
  /** Time limit of one operation in milliseconds (default 10 minutes). */
  timeoutMs?: number;
}

export function timeoutBackend(inner: Backend, opts: TimeoutOptions = {}): Backend {
  const ms = opts.timeoutMs ?? 10 * 60 * 1000;

  function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(transientError(`${what} on ${inner.location} timed out after ${ms / 1000} s`)),
        ms,
      );
    });
    const op = fn();
    op.catch(() => undefined); // a late failure after the timeout is nobody's concern
    return Promise.race([op, limit]).finally(() => clearTimeout(timer));
  }

  const name = (h: FileHandle) => relativePath(h);
  return {
    location: inner.location,
    create: () => timed('create', () => inner.create()),
    save: (h, data) => timed(`save ${name(h)}`, () => inner.save(h, data)),
    saveFile: inner.saveFile
      ? (h, file, length) => timed(`save ${name(h)}`, () => inner.saveFile!(h, file, length))
      : undefined,
    load: (h, offset, length) => timed(`load ${name(h)}`, () => inner.load(h, offset, length)),
    localPath: inner.localPath ? (h) => inner.localPath!(h) : undefined,
    loadInto: inner.loadInto
      ? (h, offset, into) => timed(`load ${name(h)}`, () => inner.loadInto!(h, offset, into))
      : undefined,
    stat: (h) => timed(`stat ${name(h)}`, () => inner.stat(h)),
    list: (type) => timed(`list ${type}`, () => inner.list(type)),
    remove: (h) => timed(`remove ${name(h)}`, () => inner.remove(h)),
    isNotFound: (err) => inner.isNotFound(err),
    isPermanent: inner.isPermanent ? (err) => inner.isPermanent!(err) : undefined,
    canDelete: inner.canDelete ? (type) => timed(`probe ${type}`, () => inner.canDelete!(type)) : undefined,
    retainedUntil: inner.retainedUntil
      ? (h) => timed(`retention of ${relativePath(h)}`, () => inner.retainedUntil!(h))
      : undefined,
    close: () => inner.close(),
  };
}
