/**
 * The `git` source: a mirror clone (every ref: branches, tags, notes, HEAD) into a private
 * temporary directory, then `git bundle create - --all` streamed as /git/<name>.bundle.
 * Restore clones the bundle into a new bare repository whose refs equal the source's. A
 * password in an https URL goes to git through a credential helper reading the environment,
 * never on a command line.
 */
import * as path from 'node:path';
import type { BackupResult } from '../engine/archiver.js';
import type { Repository } from '../engine/repository.js';
import type { StoredSnapshot } from '../engine/snapshots.js';
import { fail } from '../errors.js';
import { type CommandStream, commandStream } from './command.js';
import { childEnv, runCommand, withTempDir } from './process.js';
import { redactorFor, redactUrl } from './redact.js';
import {
  backupSourceStreams,
  readManifest,
  type SourceMeta,
  type SourceRestoreResult,
  writeSnapshotFile,
} from './source-snapshot.js';

/** `{ type: 'git', url }`: a URL git understands or a local path. */
export interface GitSourceSpec {
  type: 'git';
  url: string;
}

export interface GitRestoreOptions {
  /** Path of the bare repository to create (must not exist, or be empty). */
  into: string;
}

interface GitTarget {
  /** What git is given: the URL without its password, or the path. */
  location: string;
  args: string[];
  env: Record<string, string | undefined>;
  redact: (text: string) => string;
  shown: string;
  name: string;
}

const CREDENTIAL_HELPER =
  '!f() { test "$1" = get || exit 0; echo "username=$HOLDFAST_GIT_USERNAME"; echo "password=$HOLDFAST_GIT_PASSWORD"; }; f';

/** Bundle name from the URL or path: its last component without ".git" ("acme/app.git" → "app"). */
export function repositoryName(url: string): string {
  const last =
    url
      .replace(/[/\\]+$/, '')
      .split(/[/:\\]/)
      .pop() ?? '';
  const name = last.replace(/\.git$/, '').replace(/[^A-Za-z0-9._-]/g, '_');
  return name && name !== '.' && name !== '..' ? name : 'repository';
}

export function parseGitUrl(url: string): GitTarget {
  const env: Record<string, string | undefined> = { GIT_TERMINAL_PROMPT: '0' };
  const args: string[] = [];
  let location = url;
  let password: string | undefined;
  let raw: string | undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return fail('INVALID_ARGUMENT', `"${redactUrl(url)}" is not a valid repository URL`);
    }
    if (u.password) {
      raw = u.password;
      password = decodeURIComponent(u.password);
      env.HOLDFAST_GIT_USERNAME = decodeURIComponent(u.username);
      env.HOLDFAST_GIT_PASSWORD = password;
      u.password = '';
      args.push('-c', 'credential.helper=', '-c', `credential.helper=${CREDENTIAL_HELPER}`);
      location = u.toString();
    }
  }
  return {
    location,
    args,
    env,
    redact: redactorFor(password, raw),
    shown: redactUrl(url),
    name: repositoryName(url),
  };
}

/** Mirrors the repository and stores it as one bundle holding every ref. */
export async function backupGit(
  repo: Repository,
  spec: GitSourceSpec,
  meta: SourceMeta,
): Promise<BackupResult> {
  const t = parseGitUrl(spec.url);
  const tool = (await runCommand('git', ['--version'])).trim();
  return withTempDir('git-mirror', async (dir) => {
    const mirror = path.join(dir, 'mirror.git');
    await runCommand('git', [...t.args, 'clone', '--mirror', '--quiet', '--', t.location, mirror], {
      extraEnv: t.env,
      redact: t.redact,
      label: `git clone --mirror of ${t.shown}`,
    });
    const refs = (
      await runCommand('git', ['-C', mirror, 'for-each-ref', '--format=%(objectname) %(refname)'])
    )
      .split('\n')
      .filter(Boolean);
    if (refs.length === 0)
      fail('SOURCE_FAILED', `${t.shown} has no branches or tags: there is nothing to back up`);
    const head = (
      await runCommand('git', ['-C', mirror, 'symbolic-ref', '-q', 'HEAD']).catch(() => '')
    ).trim();
    let c: CommandStream | undefined;
    try {
      return await backupSourceStreams(
        repo,
        'git',
        meta,
        [
          {
            path: `/git/${t.name}.bundle`,
            role: 'bundle',
            open: () => {
              c = commandStream(
                'git',
                ['-C', mirror, 'bundle', 'create', '-q', '-', '--all'],
                childEnv(t.env),
                {
                  label: `git bundle of ${t.shown}`,
                  redact: t.redact,
                },
              );
              return c.stdout;
            },
            beforeCommit: () => c!.finished(),
          },
        ],
        () => ({
          tool,
          details: {
            repository: t.name,
            refs: refs.length,
            branches: refs.filter((r) => r.includes(' refs/heads/')).length,
            tags: refs.filter((r) => r.includes(' refs/tags/')).length,
            ...(head ? { head } : {}),
          },
        }),
      );
    } finally {
      c?.kill();
    }
  });
}

/** Clones the snapshot's bundle into a new bare repository at `opts.into`. */
export async function restoreGit(
  repo: Repository,
  snap: StoredSnapshot,
  opts: GitRestoreOptions,
): Promise<SourceRestoreResult> {
  const manifest = await readManifest(repo, snap);
  if (manifest?.type !== 'git')
    fail('INVALID_ARGUMENT', `snapshot ${snap.id.slice(0, 8)} is not a git backup`);
  const bundle = manifest.files.find((f) => f.role === 'bundle');
  if (!bundle) return fail('NOT_FOUND', `snapshot ${snap.id.slice(0, 8)} holds no git bundle`);
  const into = path.resolve(opts.into);
  await withTempDir('git-restore', async (dir) => {
    const file = path.join(dir, path.posix.basename(bundle.path));
    await writeSnapshotFile(repo, snap, bundle.path, file);
    await runCommand('git', ['clone', '--mirror', '--quiet', '--', file, into], {
      label: `git clone of the bundle into ${into}`,
    });
  });
  // The clone's origin is the temporary bundle: forget it (config only; refs stay).
  await runCommand('git', ['-C', into, 'config', '--remove-section', 'remote.origin']);
  return { type: 'git', restored: [`${bundle.path} -> bare repository ${into}`], notes: [] };
}
