/**
 * Options of the backend stack: the decorators every repository gets (retries, timeouts,
 * parallel transfers, bandwidth) and the settings of each backend, with restic's `-o
 * key=value` spelling parsed here. Nothing here reads the environment; callers pass values.
 */
import { fail } from '../errors.js';
import type { S3BackendOptions } from './s3.js';

export interface SftpOptions {
  /** Private key file (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa, the first that exists). */
  keyFile?: string;
  /** known_hosts file (default ~/.ssh/known_hosts). */
  knownHostsFile?: string;
  /** Connect to a host whose key is not in known_hosts (never to one whose key changed). */
  acceptUnknownHost?: boolean;
  /** ssh-agent socket to try before the key file. */
  agent?: string;
  /** User when the URL names none (default: the current user). */
  defaultUser?: string;
}

export interface RestOptions {
  /** Extra CA certificates (PEM) trusted for https. */
  caCert?: string | Buffer;
  /** Accept any TLS certificate (restic --insecure-tls); for tests only. */
  insecureTls?: boolean;
}

export interface RcloneOptions {
  /** The rclone program (default "rclone"). */
  program?: string;
  /** Arguments before the remote (default "serve restic --stdio --b2-hard-delete"). */
  args?: string;
  /** How long rclone may take to answer its first request, in ms (default 60 s). */
  startTimeoutMs?: number;
}

export interface BackendOptions {
  /** Refuse removing anything but locks, whatever the server allows. */
  appendOnly?: boolean;
  /** Attempts per operation, the first included (default 8); 1 disables retries. */
  retries?: number;
  /** First backoff delay in ms (default 500). */
  retryBaseDelayMs?: number;
  /** Time limit of one operation in ms (default 10 minutes). */
  timeoutMs?: number;
  /** Operations in flight at once (default: 2 local, 5 remote). */
  connections?: number;
  uploadBytesPerSec?: number;
  downloadBytesPerSec?: number;
  sftp?: SftpOptions;
  rest?: RestOptions;
  rclone?: RcloneOptions;
  s3?: S3BackendOptions;
}

function positive(key: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) fail('INVALID_ARGUMENT', `-o ${key}=${value}: give a positive number`);
  return n;
}

function bool(key: string, value: string): boolean {
  if (/^(true|yes|1|)$/i.test(value)) return true;
  if (/^(false|no|0)$/i.test(value)) return false;
  return fail('INVALID_ARGUMENT', `-o ${key}=${value}: give true or false`);
}

/**
 * Applies `key=value` settings (restic's `-o`): retries, timeout (seconds), connections or
 * <backend>.connections, sftp.key, sftp.known-hosts, sftp.accept-unknown-host, rest.cacert,
 * rest.insecure-tls, rclone.program, rclone.args, rclone.timeout (seconds).
 */
export function applyBackendSettings(base: BackendOptions, pairs: readonly string[]): BackendOptions {
  const o: BackendOptions = {
    ...base,
    sftp: { ...base.sftp },
    rest: { ...base.rest },
    rclone: { ...base.rclone },
  };
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    switch (key) {
      case 'retries':
        o.retries = Math.floor(positive(key, value));
        break;
      case 'timeout':
        o.timeoutMs = positive(key, value) * 1000;
        break;
      case 'connections':
      case 'local.connections':
      case 'sftp.connections':
      case 'rest.connections':
      case 'rclone.connections':
      case 's3.connections':
        o.connections = Math.floor(positive(key, value));
        break;
      case 'append-only':
        o.appendOnly = bool(key, value);
        break;
      case 'sftp.key':
        o.sftp!.keyFile = value;
        break;
      case 'sftp.known-hosts':
        o.sftp!.knownHostsFile = value;
        break;
      case 'sftp.accept-unknown-host':
        o.sftp!.acceptUnknownHost = bool(key, value);
        break;
      case 'rest.cacert':
        o.rest!.caCert = value;
        break;
      case 'rest.insecure-tls':
        o.rest!.insecureTls = bool(key, value);
        break;
      case 'rclone.program':
        o.rclone!.program = value;
        break;
      case 'rclone.args':
        o.rclone!.args = value;
        break;
      case 'rclone.timeout':
        o.rclone!.startTimeoutMs = positive(key, value) * 1000;
        break;
      default:
        fail('INVALID_ARGUMENT', `-o ${key}: unknown option (see "holdfast --help" for the backend options)`);
    }
  }
  return o;
}
