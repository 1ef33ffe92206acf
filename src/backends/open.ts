/**
 * Opens the backend a repository URL names, with restic's URL forms (`/path`, `local:/path`,
 * `sftp:…`, `rest:http…`, `rclone:remote:path`), and stacks the decorators every repository
 * gets, outermost first: append-only guard, retry, limit (connections, bandwidth), timeout.
 */
import { fail } from '../errors.js';
import { appendOnlyBackend } from './append-only.js';
import type { Backend } from './backend.js';
import { limitBackend } from './limit.js';
import { localBackend } from './local.js';
import type { BackendOptions } from './options.js';
import { rcloneBackend } from './rclone.js';
import { restBackend } from './rest.js';
import { retryBackend } from './retry.js';
import { s3Backend } from './s3.js';
import { s3EnvOptions } from './s3-client.js';
import { sftpBackend } from './sftp.js';
import { timeoutBackend } from './timeout.js';

const UNSUPPORTED = ['b2:', 'azure:', 'gs:', 'swift:'];

/** The bare backend for a URL, without decorators. */
export function openBaseBackend(url: string, opts: BackendOptions = {}): Backend {
  if (url.trim() === '') fail('NO_REPOSITORY', 'no repository given: use --repo or set HOLDFAST_REPOSITORY');
  if (url.startsWith('local:')) return localBackend(url.slice('local:'.length));
  if (url.startsWith('sftp:')) return sftpBackend(url, opts.sftp);
  if (url.startsWith('rest:')) return restBackend(url.slice('rest:'.length), opts.rest);
  if (url.startsWith('rclone:')) return rcloneBackend(url.slice('rclone:'.length), opts.rclone);
  // s3: region and path style from AWS_DEFAULT_REGION / HOLDFAST_S3_PATH_STYLE, credentials
  // from the AWS SDK's own chain (AWS_ACCESS_KEY_ID…, profiles, instance roles).
  if (url.startsWith('s3:')) return s3Backend(url, { ...s3EnvOptions(process.env), ...opts.s3 });
  const scheme = UNSUPPORTED.find((s) => url.startsWith(s));
  if (scheme)
    fail(
      'INVALID_ARGUMENT',
      `the ${scheme.slice(0, -1)} backend is not supported: use rclone:${scheme.slice(0, -1)}-remote:path instead`,
    );
  return localBackend(url);
}

/** The backend for a URL with retries, limits, timeouts and, if asked, the append-only guard. */
export function openBackend(url: string, opts: BackendOptions = {}): Backend {
  const base = openBaseBackend(url, opts);
  const local = base.location.startsWith('/');
  let be = timeoutBackend(base, { timeoutMs: opts.timeoutMs });
  be = limitBackend(be, {
    connections: opts.connections ?? (local ? 2 : 5),
    uploadBytesPerSec: opts.uploadBytesPerSec,
    downloadBytesPerSec: opts.downloadBytesPerSec,
  });
  be = retryBackend(be, {
    attempts: opts.retries ?? (local ? 3 : 8),
    baseDelayMs: opts.retryBaseDelayMs,
  });
  return opts.appendOnly ? appendOnlyBackend(be) : be;
}
