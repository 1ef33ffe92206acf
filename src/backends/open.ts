/**
 * Opens the backend a repository URL names, with restic's URL forms. Only the local
 * filesystem (`/path`, `local:/path`) exists so far; the others are named clearly.
 */
import { fail } from '../errors.js';
import type { Backend } from './backend.js';
import { localBackend } from './local.js';

const REMOTE = ['sftp:', 'rest:', 's3:', 'rclone:', 'b2:', 'azure:', 'gs:', 'swift:'];

export function openBackend(url: string): Backend {
  if (url.trim() === '') fail('NO_REPOSITORY', 'no repository given: use --repo or set HOLDFAST_REPOSITORY');
  if (url.startsWith('local:')) return localBackend(url.slice('local:'.length));
  const scheme = REMOTE.find((s) => url.startsWith(s));
  if (scheme)
    fail('INVALID_ARGUMENT', `the ${scheme.slice(0, -1)} backend is not available yet: use a local path`);
  return localBackend(url);
}
