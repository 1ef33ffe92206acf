/**
 * The backup use cases: paths (with the newest matching snapshot as parent, as restic
 * chooses it), a stream, or a command's stdout. Each holds a shared lock while it runs.
 */
import * as os from 'node:os';
import { backupPaths, type BackupCounters, type BackupResult, cleanTargets } from '../engine/archiver.js';
import type { Repository } from '../engine/repository.js';
import { listSnapshots, type StoredSnapshot } from '../engine/snapshots.js';
import { backupStream } from '../engine/stream-backup.js';
import { commandStream } from '../sources/command.js';
import { stdinBlocks } from '../sources/socket-blocks.js';
import { PROGRAM } from '../version.js';
import { type RepoRef, withRepo } from './session.js';

export interface BackupRequest {
  repo: RepoRef;
  host?: string;
  tags?: string[];
  counters?: BackupCounters;
  onWarning?: (path: string, message: string) => void;
}

function meta(req: BackupRequest) {
  let username = '';
  try {
    username = os.userInfo().username;
  } catch {
    // no passwd entry: leave it empty
  }
  return {
    hostname: req.host ?? os.hostname(),
    username,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    tags: req.tags,
    programVersion: PROGRAM,
    counters: req.counters,
  };
}

/** The newest snapshot of the same host with exactly the same paths. */
async function findParent(
  repo: Repository,
  host: string,
  paths: readonly string[],
): Promise<StoredSnapshot | undefined> {
  const same = (await listSnapshots(repo)).filter(
    (s) => (s.snapshot.hostname ?? '') === host && s.snapshot.paths.join('\0') === paths.join('\0'),
  );
  return same[same.length - 1];
}

export async function backupFiles(
  req: BackupRequest & { paths: string[]; excludes?: string[]; cwd: string; parent?: string | false },
): Promise<BackupResult> {
  const m = meta(req);
  const targets = cleanTargets(req.paths, req.cwd);
  return withRepo(req.repo, 'shared', true, async (repo) => {
    const parent = req.parent === false ? undefined : await findParent(repo, m.hostname, targets);
    return backupPaths(repo, targets, { ...m, excludes: req.excludes, parent, onWarning: req.onWarning });
  });
}

/** Stores holdfast's own stdin as one file (read straight into read blocks when it is a pipe). */
export async function backupFromStdin(req: BackupRequest & { filename: string }): Promise<BackupResult> {
  return withRepo(req.repo, 'shared', true, (repo) =>
    backupStream(repo, stdinBlocks(), req.filename, meta(req)),
  );
}

export async function backupFromCommand(
  req: BackupRequest & { command: string[]; filename: string },
): Promise<BackupResult> {
  return withRepo(req.repo, 'shared', true, async (repo) => {
    const cmd = commandStream(req.command[0], req.command.slice(1));
    try {
      return await backupStream(repo, cmd.stdout, req.filename, { ...meta(req), beforeCommit: cmd.finished });
    } finally {
      cmd.kill();
    }
  });
}
