/**
 * The source backup use case: opens the repository under a shared lock and backs up one
 * source (postgres, mysql, redis, git, files, command) into one snapshot tagged for it.
 */
import * as os from 'node:os';
import type { BackupCounters, BackupResult } from '../engine/archiver.js';
import { s3EnvOptions } from '../backends/s3-client.js';
import { backupSource, type StreamSourceSpec } from '../sources/registry.js';
import { PROGRAM } from '../version.js';
import { type RepoRef, withRepo } from './session.js';

export interface SourceBackupRequest {
  repo: RepoRef;
  spec: StreamSourceSpec;
  /** Asset name (tag asset:<name>). */
  asset?: string;
  host?: string;
  tags?: string[];
  /** Base of a files source's relative paths. */
  cwd?: string;
  counters?: BackupCounters;
  onWarning?: (path: string, message: string) => void;
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return ''; // no passwd entry
  }
}

export async function backupFromSource(req: SourceBackupRequest): Promise<BackupResult> {
  const meta = {
    hostname: req.host ?? os.hostname(),
    username: userName(),
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    tags: req.tags,
    programVersion: PROGRAM,
    asset: req.asset,
    counters: req.counters,
    onWarning: req.onWarning,
  };
  return withRepo(req.repo, 'shared', true, (repo) =>
    backupSource(repo, req.spec, meta, { cwd: req.cwd, s3: s3EnvOptions(process.env) }),
  );
}
