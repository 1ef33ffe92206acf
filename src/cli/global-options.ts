/**
 * Options every command shares (restic's names): repository, password sources, --json,
 * --quiet; and how they fall back to HOLDFAST_* and RESTIC_* environment variables.
 */
import type { Command } from 'commander';
import type { PasswordSource } from '../app/credentials.js';
import type { RepoRef } from '../app/session.js';
import { fail } from '../errors.js';
import { backendOptions, type BackendFlags, collectOption } from './backend-flags.js';

export interface GlobalOptions extends BackendFlags {
  repo?: string;
  passwordFile?: string;
  passwordCommand?: string;
  json?: boolean;
  quiet?: boolean;
  compression?: 'auto' | 'off';
  packSize?: string;
}

export function addGlobalOptions(program: Command): Command {
  return program
    .option('-r, --repo <url>', 'repository location (env HOLDFAST_REPOSITORY or RESTIC_REPOSITORY)')
    .option(
      '-p, --password-file <file>',
      'read the repository password from a file (env HOLDFAST_PASSWORD_FILE)',
    )
    .option(
      '--password-command <command>',
      'run a shell command that prints the password (env HOLDFAST_PASSWORD_COMMAND)',
    )
    .option('--json', 'print machine-readable JSON instead of text')
    .option('-q, --quiet', 'print nothing but errors')
    .option('--compression <mode>', 'compression of data blobs: auto or off', 'auto')
    .option('--pack-size <MiB>', 'target pack size in MiB (4-128)', '16')
    .option('--append-only', 'remove or replace nothing but lock files (env HOLDFAST_APPEND_ONLY=1)')
    .option('--limit-upload <KiB/s>', 'limit uploads to this rate')
    .option('--limit-download <KiB/s>', 'limit downloads to this rate')
    .option(
      '-o, --option <key=value>',
      'backend option (repeatable): retries=N, timeout=SECONDS, connections=N, sftp.key=FILE, ' +
        'sftp.known-hosts=FILE, sftp.accept-unknown-host=true, rest.cacert=FILE, rclone.program=P, rclone.args=A',
      collectOption,
    );
}

function env(name: string, e: NodeJS.ProcessEnv): string | undefined {
  const v = e[`HOLDFAST_${name}`] ?? e[`RESTIC_${name}`];
  return v === '' ? undefined : v;
}

export function passwordSource(o: GlobalOptions, e: NodeJS.ProcessEnv = process.env): PasswordSource {
  if (o.passwordFile) return { file: o.passwordFile };
  if (o.passwordCommand) return { command: o.passwordCommand };
  const value = e.HOLDFAST_PASSWORD ?? e.RESTIC_PASSWORD;
  if (value !== undefined) return { value };
  const file = env('PASSWORD_FILE', e);
  if (file) return { file };
  const command = env('PASSWORD_COMMAND', e);
  if (command) return { command };
  return fail(
    'NO_PASSWORD',
    'no repository password given: use --password-file, --password-command or set HOLDFAST_PASSWORD',
  );
}

export function repoRef(o: GlobalOptions, e: NodeJS.ProcessEnv = process.env): RepoRef {
  const url = o.repo ?? env('REPOSITORY', e);
  if (!url) fail('NO_REPOSITORY', 'no repository given: use --repo or set HOLDFAST_REPOSITORY');
  const packMiB = Number(o.packSize ?? '16');
  if (!Number.isFinite(packMiB) || packMiB < 4 || packMiB > 128)
    fail('INVALID_ARGUMENT', '--pack-size must be between 4 and 128 (MiB)');
  if (o.compression && o.compression !== 'auto' && o.compression !== 'off') {
    fail('INVALID_ARGUMENT', `--compression must be "auto" or "off", not "${o.compression}"`);
  }
  return {
    url,
    password: passwordSource(o, e),
    options: { packSize: packMiB * 1024 * 1024, compression: o.compression ?? 'auto' },
    backend: backendOptions(o, e),
  };
}
