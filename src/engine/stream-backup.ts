/**
 * Backup of one byte stream (stdin, a dump command's stdout) as a single file in a snapshot,
 * shaped like `restic backup --stdin` (restic-format.md §11) so that
 * `restic dump latest /NAME` restores it.
 */
import * as path from 'node:path';
import { fail } from '../errors.js';
import {
  type BackupCounters,
  type BackupResult,
  newCounters,
  nowNs,
  snapshotBase,
  type SnapshotMeta,
} from './archiver.js';
import { saveChunked } from './chunk-saver.js';
import { GoMode, type TreeNode } from './node.js';
import { timeOf } from './node-stat.js';
import type { Repository } from './repository.js';
import type { Snapshot } from './snapshot.js';
import { saveSnapshot, type StoredSnapshot } from './snapshots.js';
import { saveTree } from './tree-io.js';

export interface StreamBackupOptions extends SnapshotMeta {
  parent?: StoredSnapshot;
  counters?: BackupCounters;
  /**
   * Called after the stream ended and its data is stored, before the snapshot is written;
   * throwing here (e.g. because the producing command failed) means no snapshot is written.
   */
  beforeCommit?: () => Promise<void>;
}

/** "/" + the cleaned name; rejects names that clean to "/". */
export function streamPath(filename: string): string {
  const p = path.posix.normalize('/' + filename);
  if (p === '/' || p.endsWith('/'))
    fail('INVALID_ARGUMENT', `invalid stream file name "${filename}": give a file name`);
  return p;
}

export async function backupStream(
  repo: Repository,
  source: AsyncIterable<Buffer>,
  filename: string,
  opts: StreamBackupOptions,
): Promise<BackupResult> {
  const target = streamPath(filename);
  const startNs = nowNs();
  const counters = opts.counters ?? newCounters();
  const uid = opts.uid ?? 0;
  const gid = opts.gid ?? 0;
  const scanTime = timeOf(startNs);
  const snapTime = timeOf(opts.timeNs ?? startNs);

  let failure: unknown;
  let stored: { content: string[]; size: number } | undefined;
  try {
    stored = await saveChunked(repo, source, (n) => {
      counters.bytesRead += n;
      counters.totalBytesProcessed += n;
    });
    await opts.beforeCommit?.();
  } catch (err) {
    failure = err;
  }
  // Whatever was stored is indexed, so a retry deduplicates against it; no snapshot on failure.
  await repo.flush();
  if (failure !== undefined) throw failure;
  if (!stored || stored.size === 0)
    fail('SOURCE_FAILED', 'no data read from the stream: refusing to store an empty backup');

  const parts = target.split('/').filter(Boolean);
  const fileNode: TreeNode = {
    name: Buffer.from(parts[parts.length - 1]),
    type: 'file',
    mode: 0o644,
    mtime: snapTime,
    atime: snapTime,
    ctime: snapTime,
    uid,
    gid,
    size: BigInt(stored.size),
    content: stored.content,
  };
  let tree = await saveTree(repo, [fileNode]);
  for (let i = parts.length - 2; i >= 0; i--) {
    const dirNode: TreeNode = {
      name: Buffer.from(parts[i]),
      type: 'dir',
      mode: (GoMode.dir | 0o755) >>> 0,
      mtime: scanTime,
      atime: scanTime,
      ctime: scanTime,
      uid,
      gid,
      content: null,
      subtree: tree,
    };
    tree = await saveTree(repo, [dirNode]);
  }
  await repo.flush();
  counters.filesNew++;
  counters.totalFilesProcessed++;
  const snapshot: Snapshot = { ...snapshotBase(opts, startNs), tree, paths: [target] };
  if (opts.parent) snapshot.parent = opts.parent.id;
  const snapshotId = await saveSnapshot(repo, snapshot);
  return { snapshotId, snapshot, counters, warnings: 0 };
}
