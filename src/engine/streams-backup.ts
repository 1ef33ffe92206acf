/**
 * Backup of several byte streams as files of one snapshot (a database dump per database plus
 * a small metadata file, say). Streams are opened one after another, each only once the one
 * before is stored and its `beforeCommit` check passed; any failure means no snapshot is
 * written (what was stored is indexed so a retry deduplicates). Files are laid out like
 * `restic backup --stdin` does for one, so `restic dump latest /a/b`
 * restores each of them.
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

export interface StreamEntry {
  /** Path of the file inside the snapshot, e.g. "/postgres/app.dump". */
  path: string;
  /** Opens the stream; called only after every entry before it is stored and checked. */
  open: () => AsyncIterable<Buffer> | Promise<AsyncIterable<Buffer>>;
  /** Called after this stream ended and is stored; throwing fails the backup (no snapshot). */
  beforeCommit?: () => Promise<void>;
}

export interface StoredStream {
  path: string;
  size: number;
}

export interface StreamsBackupOptions extends SnapshotMeta {
  parent?: StoredSnapshot;
  counters?: BackupCounters;
  /** Called after every stream is stored and checked, before the snapshot is written. */
  beforeCommit?: () => Promise<void>;
  /** Called as each stream is stored (for progress or for a metadata entry that follows). */
  onStored?: (file: StoredStream) => void;
}

export interface StreamsBackupResult extends BackupResult {
  files: StoredStream[];
}

/** "/" + the cleaned name; rejects names that clean to "/". */
export function streamPath(filename: string): string {
  const p = path.posix.normalize('/' + filename);
  if (p === '/' || p.endsWith('/'))
    fail('INVALID_ARGUMENT', `invalid stream file name "${filename}": give a file name`);
  return p;
}

interface DirBuild {
  dirs: Map<string, DirBuild>;
  files: Map<string, TreeNode>;
}

function checkPaths(entries: readonly StreamEntry[]): string[] {
  if (entries.length === 0) fail('INVALID_ARGUMENT', 'nothing to back up: no streams given');
  const paths = entries.map((e) => streamPath(e.path));
  const seen = new Set<string>();
  for (const p of paths) {
    if (seen.has(p)) fail('INVALID_ARGUMENT', `two streams would be stored as ${p}: give distinct names`);
    seen.add(p);
  }
  for (const p of paths)
    for (let dir = p.slice(0, p.lastIndexOf('/')); dir; dir = dir.slice(0, dir.lastIndexOf('/')))
      if (seen.has(dir)) fail('INVALID_ARGUMENT', `${p} would be stored below the file ${dir}`);
  return paths;
}

export async function backupStreams(
  repo: Repository,
  entries: readonly StreamEntry[],
  opts: StreamsBackupOptions,
): Promise<StreamsBackupResult> {
  const paths = checkPaths(entries);
  const startNs = nowNs();
  const counters = opts.counters ?? newCounters();
  const uid = opts.uid ?? 0;
  const gid = opts.gid ?? 0;
  const scanTime = timeOf(startNs);
  const snapTime = timeOf(opts.timeNs ?? startNs);
  const root: DirBuild = { dirs: new Map(), files: new Map() };
  const files: StoredStream[] = [];

  let failure: unknown;
  try {
    for (let i = 0; i < entries.length; i++) {
      const stored = await saveChunked(repo, await entries[i].open(), (n) => {
        counters.bytesRead += n;
        counters.totalBytesProcessed += n;
      });
      await entries[i].beforeCommit?.();
      const parts = paths[i].split('/').filter(Boolean);
      let dir = root;
      for (const name of parts.slice(0, -1)) {
        let next = dir.dirs.get(name);
        if (!next) dir.dirs.set(name, (next = { dirs: new Map(), files: new Map() }));
        dir = next;
      }
      dir.files.set(parts[parts.length - 1], {
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
      });
      counters.filesNew++;
      counters.totalFilesProcessed++;
      const file = { path: paths[i], size: stored.size };
      files.push(file);
      opts.onStored?.(file);
    }
    await opts.beforeCommit?.();
  } catch (err) {
    failure = err;
  }
  // Whatever was stored is indexed, so a retry deduplicates against it; no snapshot on failure.
  await repo.flush();
  if (failure !== undefined) throw failure;

  const saveDir = async (d: DirBuild): Promise<string> => {
    const nodes: TreeNode[] = [...d.files.values()];
    for (const [name, sub] of d.dirs) {
      counters.dirsNew++;
      nodes.push({
        name: Buffer.from(name),
        type: 'dir',
        mode: (GoMode.dir | 0o755) >>> 0,
        mtime: scanTime,
        atime: scanTime,
        ctime: scanTime,
        uid,
        gid,
        content: null,
        subtree: await saveDir(sub),
      });
    }
    nodes.sort((a, b) => Buffer.compare(a.name, b.name));
    return saveTree(repo, nodes);
  };
  const tree = await saveDir(root);
  await repo.flush();
  const snapshot: Snapshot = { ...snapshotBase(opts, startNs), tree, paths: [...paths].sort() };
  if (opts.parent) snapshot.parent = opts.parent.id;
  const snapshotId = await saveSnapshot(repo, snapshot);
  return { snapshotId, snapshot, counters, warnings: 0, files };
}
