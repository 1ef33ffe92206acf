/**
 * Backend errors and how they are classified: "not found", permanent (a retry cannot help:
 * bad credentials, refused by the server's policy, a full disk) or transient (a dropped
 * connection, a 5xx answer, a timeout), which the retry decorator retries.
 */
import { HoldfastError, isHoldfastError } from '../errors.js';

const PERMANENT = new WeakSet<object>();

/** A BACKEND error that retrying may fix. */
export function transientError(message: string, cause?: unknown): HoldfastError {
  return new HoldfastError('BACKEND', message, cause === undefined ? undefined : { cause });
}

/** A BACKEND error that retrying cannot fix. */
export function permanentError(message: string, cause?: unknown): HoldfastError {
  const err = new HoldfastError('BACKEND', message, cause === undefined ? undefined : { cause });
  PERMANENT.add(err);
  return err;
}

/** The NOT_FOUND error a backend throws for a missing file. */
export function notFoundError(what: string): HoldfastError {
  return new HoldfastError('NOT_FOUND', `${what} does not exist`);
}

const PERMANENT_ERRNO = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
  'EDQUOT',
  'EISDIR',
  'ENOTDIR',
  'ENOTFOUND',
]);

/** True when an error should not be retried, whatever backend produced it. */
export function isPermanentError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if (PERMANENT.has(err)) return true;
  if (isHoldfastError(err)) {
    if (err.code !== 'BACKEND' && err.code !== 'IO') return true;
    return err.cause !== undefined && isPermanentError(err.cause);
  }
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' && PERMANENT_ERRNO.has(code);
}

/** A short text for an error, for messages; never includes URLs with credentials. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
