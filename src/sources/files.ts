/**
 * The `files` source: directories and files with excludes, through the engine's path backup
 * (a plain restic path snapshot, restorable with `restic restore`), after an optional
 * `before` command (e.g. writing a vault's raft snapshot); a failing `before` command fails
 * the backup before anything is read. The parent is the newest snapshot of the same host and
 * paths. Such a snapshot has no /holdfast-source.json: its tags and paths say what it is.
 */
import * as path from 'node:path';
import { backupPaths, type BackupResult, cleanTargets } from '../engine/archiver.js';
import type { Repository } from '../engine/repository.js';
import { restore } from '../engine/restorer.js';
import { listSnapshots, type StoredSnapshot } from '../engine/snapshots.js';
import { rootNode } from '../engine/walker.js';
import { fail } from '../errors.js';
import { runCommand } from './process.js';
import { checkAborted, type SourceMeta, type SourceRestoreResult, sourceTags } from './source-snapshot.js';

/** `{ type: 'files', paths, exclude?, before? }` as in the policy file. */
export interface FilesSourceSpec {
  type: 'files';
  paths: string[];
  /** Exclude patterns (restic syntax). */
  exclude?: string[];
  /** Shell command(s) run first with `sh -c`; a failure fails the backup. */
  before?: string | string[];
}

export interface FilesBackupOptions {
  /** Base of relative paths (the policy file's directory); relative paths are refused without it. */
  cwd?: string;
}

export interface FilesRestoreOptions {
  /** Directory that receives the files under their original absolute paths. */
  into: string;
}

/** Runs the `before` command(s), then backs up the paths. */
export async function backupFilesSource(
  repo: Repository,
  spec: FilesSourceSpec,
  meta: SourceMeta,
  opts: FilesBackupOptions = {},
): Promise<BackupResult> {
  if (spec.paths.length === 0) fail('INVALID_ARGUMENT', 'a files source needs at least one path');
  const relative = spec.paths.find((p) => !path.isAbsolute(p));
  if (relative !== undefined && !opts.cwd)
    fail('INVALID_ARGUMENT', `path "${relative}" is relative: give absolute paths`);
  const targets = cleanTargets(spec.paths, opts.cwd ?? '/');
  const before = spec.before === undefined ? [] : Array.isArray(spec.before) ? spec.before : [spec.before];
  for (const cmd of before) {
    checkAborted(meta.signal);
    await runCommand('sh', ['-c', cmd], { cwd: opts.cwd, label: `the before command "${cmd}"` });
  }
  checkAborted(meta.signal);
  const same = (await listSnapshots(repo)).filter(
    (s) =>
      (s.snapshot.hostname ?? '') === meta.hostname && s.snapshot.paths.join('\0') === targets.join('\0'),
  );
  const { asset: _a, ...snapMeta } = meta;
  return backupPaths(repo, targets, {
    ...snapMeta,
    tags: sourceTags('files', meta),
    excludes: spec.exclude,
    parent: same[same.length - 1],
    onWarning: meta.onWarning,
  });
}

/** Restores the whole snapshot into `opts.into` (paths kept, like `restic restore`). */
export async function restoreFilesSource(
  repo: Repository,
  snap: StoredSnapshot,
  opts: FilesRestoreOptions,
): Promise<SourceRestoreResult> {
  const counters = await restore(repo, rootNode(snap.snapshot.tree, snap.snapshot.time), {
    target: opts.into,
  });
  return {
    type: 'files',
    restored: [
      `${snap.snapshot.paths.join(', ')} -> ${opts.into} (${counters.files} files, ${counters.dirs} dirs)`,
    ],
    notes: [],
  };
}
