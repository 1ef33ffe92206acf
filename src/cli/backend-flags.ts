/**
 * Backend settings from the command line and the environment: --append-only, --limit-upload,
 * --limit-download (KiB/s, as restic), -o key=value (restic's backend options), and
 * HOLDFAST_SFTP_KEY, HOLDFAST_SFTP_KNOWN_HOSTS, HOLDFAST_APPEND_ONLY, SSH_AUTH_SOCK.
 */
import { applyBackendSettings, type BackendOptions } from '../backends/options.js';
import { fail } from '../errors.js';

export interface BackendFlags {
  appendOnly?: boolean;
  limitUpload?: string;
  limitDownload?: string;
  option?: string[];
}

function kibPerSec(flag: string, text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) fail('INVALID_ARGUMENT', `${flag} ${text}: give a rate in KiB/s`);
  return n === 0 ? undefined : n * 1024;
}

export function collectOption(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function backendOptions(f: BackendFlags, e: NodeJS.ProcessEnv = process.env): BackendOptions {
  const envFlag = e.HOLDFAST_APPEND_ONLY;
  const base: BackendOptions = {
    appendOnly: f.appendOnly || (envFlag !== undefined && /^(1|true|yes)$/i.test(envFlag)) || undefined,
    uploadBytesPerSec: kibPerSec('--limit-upload', f.limitUpload),
    downloadBytesPerSec: kibPerSec('--limit-download', f.limitDownload),
    sftp: {
      keyFile: e.HOLDFAST_SFTP_KEY || undefined,
      knownHostsFile: e.HOLDFAST_SFTP_KNOWN_HOSTS || undefined,
      agent: e.SSH_AUTH_SOCK || undefined,
    },
  };
  return applyBackendSettings(base, f.option ?? []);
}
