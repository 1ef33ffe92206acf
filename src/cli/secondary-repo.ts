/**
 * The second repository of `copy` and `init --copy-chunker-params`, named as restic 0.14 does:
 * either the `--from-repo` group (the *source*; `--repo` is then the destination) or the
 * deprecated `--repo2` group (for copy the *destination*, `--repo` being the source; for init
 * the repository to take chunker parameters from). Each option falls back to HOLDFAST_* and
 * RESTIC_* variables (FROM_REPOSITORY, FROM_PASSWORD[_FILE|_COMMAND]; REPOSITORY2,
 * PASSWORD2, PASSWORD_FILE2, PASSWORD_COMMAND2). The primary password is never reused.
 */
import type { Command } from 'commander';
import type { PasswordSource } from '../app/credentials.js';
import type { RepoRef } from '../app/session.js';
import { fail } from '../errors.js';
import { type GlobalOptions, repoRef } from './global-options.js';

export interface SecondaryFlags {
  fromRepo?: string;
  fromPasswordFile?: string;
  fromPasswordCommand?: string;
  repo2?: string;
  passwordFile2?: string;
  passwordCommand2?: string;
}

export function addSecondaryOptions(cmd: Command, fromRole: string, repo2Role: string): Command {
  return cmd
    .option('--from-repo <url>', `${fromRole} (env HOLDFAST_FROM_REPOSITORY)`)
    .option('--from-password-file <file>', 'password file of --from-repo (env HOLDFAST_FROM_PASSWORD_FILE)')
    .option('--from-password-command <command>', 'command printing the password of --from-repo')
    .option('--repo2 <url>', `${repo2Role} (deprecated restic name; env HOLDFAST_REPOSITORY2)`)
    .option('--password-file2 <file>', 'password file of --repo2 (env HOLDFAST_PASSWORD_FILE2)')
    .option('--password-command2 <command>', 'command printing the password of --repo2');
}

function env(e: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = e[`HOLDFAST_${name}`] ?? e[`RESTIC_${name}`];
  return v === '' ? undefined : v;
}

interface Group {
  url?: string;
  file?: string;
  command?: string;
  /** Environment variable (without prefix) holding the password itself. */
  passwordVar: string;
  label: string;
}

/**
 * The second repository and whether it came from the `--from-repo` group (so it is the
 * source). Undefined when neither group is given.
 */
export function secondaryRepo(
  f: SecondaryFlags,
  g: GlobalOptions,
  e: NodeJS.ProcessEnv = process.env,
): { ref: RepoRef; isFromRepo: boolean } | undefined {
  const from: Group = {
    url: f.fromRepo ?? env(e, 'FROM_REPOSITORY'),
    file: f.fromPasswordFile ?? env(e, 'FROM_PASSWORD_FILE'),
    command: f.fromPasswordCommand ?? env(e, 'FROM_PASSWORD_COMMAND'),
    passwordVar: 'FROM_PASSWORD',
    label: '--from-repo',
  };
  const legacy: Group = {
    url: f.repo2 ?? env(e, 'REPOSITORY2'),
    file: f.passwordFile2 ?? env(e, 'PASSWORD_FILE2'),
    command: f.passwordCommand2 ?? env(e, 'PASSWORD_COMMAND2'),
    passwordVar: 'PASSWORD2',
    label: '--repo2',
  };
  const given = (x: Group) => !!(x.url || x.file || x.command);
  if (given(from) && given(legacy))
    fail('INVALID_ARGUMENT', 'the option groups --from-repo and --repo2 exclude each other: give only one');
  if (!given(from) && !given(legacy)) return undefined;
  const group = given(from) ? from : legacy;
  if (!group.url) fail('NO_REPOSITORY', `no second repository given: use ${group.label}`);
  let password: PasswordSource;
  if (group.file) password = { file: group.file };
  else if (group.command) password = { command: group.command };
  else {
    const value = e[`HOLDFAST_${group.passwordVar}`] ?? e[`RESTIC_${group.passwordVar}`];
    if (value === undefined)
      fail(
        'NO_PASSWORD',
        `no password for ${group.label}: use ${group.label === '--repo2' ? '--password-file2' : '--from-password-file'} or set HOLDFAST_${group.passwordVar}`,
      );
    password = { value };
  }
  // Pack size and compression apply to whichever repository is written.
  const { options } = repoRef(g, e);
  return { ref: { url: group.url, password, options }, isFromRepo: group === from };
}
