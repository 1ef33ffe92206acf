/**
 * The one error family of holdfast. Every error a user can see carries a stable `code`
 * (for scripts and tests) and a message that says what went wrong and what to do.
 * Messages never contain secrets: callers pass redacted values only.
 */

export type ErrorCode =
  | 'WRONG_PASSWORD'
  | 'NO_PASSWORD'
  | 'NO_REPOSITORY'
  | 'REPO_EXISTS'
  | 'REPO_NOT_FOUND'
  | 'REPO_UNSUPPORTED'
  | 'REPO_LOCKED'
  | 'INTEGRITY'
  | 'NOT_FOUND'
  | 'BACKEND'
  | 'IMMUTABLE'
  | 'APPEND_ONLY'
  | 'HOST_KEY'
  | 'SOURCE_FAILED'
  | 'INVALID_ARGUMENT'
  | 'IO'
  | 'CATALOG'
  | 'INTERRUPTED'
  | 'INVALID_POLICY'
  | 'MISSING_SECRET';

export class HoldfastError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'HoldfastError';
  }
}

/** Shorthand used at every `throw` site. */
export function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new HoldfastError(code, message, cause === undefined ? undefined : { cause });
}

export function isHoldfastError(err: unknown, code?: ErrorCode): err is HoldfastError {
  return err instanceof HoldfastError && (code === undefined || err.code === code);
}
