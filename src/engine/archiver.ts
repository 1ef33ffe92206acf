/**
 * Backup of filesystem paths into a snapshot (restic's archiver): walks the targets,
 * stores file contents as content-defined chunks and directories as trees, reuses the
 * content of unchanged files from a parent snapshot, and writes the snapshot last, after
 * every pack and index it needs is stored. The caller holds a (shared) lock and has loaded
 * the index.
 */
import { closeSync, promises as fsp, type BigIntStats, lstatSync, openSync, readSync } from 'node:fs';
import * as path from 'node:path';
import { fail, isHoldfastError } from '../errors.js';
import { saveChunked } from './chunk-saver.js';
import { profiledAsync } from './profile.js';
import { excludeMatcher, type ExcludeMatcher } from './exclude.js';
import type { TreeNode } from './node.js';
import { nodeFromStat, timeOf } from './node-stat.js';
import { loadNameTables, type NameTables } from './os-users.js';
import type { Repository } from './repository.js';
import type { Snapshot } from './snapshot.js';
import { saveSnapshot, type StoredSnapshot } from './snapshots.js';
import { loadTree, saveTree } from './tree-io.js';

export interface BackupCounters {
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  dirsNew: number;
  dirsChanged: number;
  dirsUnmodified: number;
  totalFilesProcessed: number;
  totalBytesProcessed: number;
  /** Bytes read from files whose content was (re)chunked. */
  bytesRead: number;
}

export interface SnapshotMeta {
  hostname: string;
  username?: string;
  uid?: number;
  gid?: number;
  tags?: string[];
  /** Snapshot time; now when omitted. */
  timeNs?: bigint;
  programVersion?: string;
}

export interface PathBackupOptions extends SnapshotMeta {
  excludes?: string[];
  parent?: StoredSnapshot;
  counters?: BackupCounters;
  /** Called for each file or directory that could not be read; the backup goes on. */
  onWarning?: (path: string, message: string) => void;
  /** Files read at the same time (I/O overlap); default 2. */
  fileConcurrency?: number;
  /** Aborts the backup: no snapshot is written, what was stored stays valid. */
  signal?: AbortSignal;
}

export interface BackupResult {
  snapshotId: string;
  snapshot: Snapshot;
  counters: BackupCounters;
  warnings: number;
}

export function newCounters(): BackupCounters {
  return {
    filesNew: 0,
    filesChanged: 0,
    filesUnmodified: 0,
    dirsNew: 0,
    dirsChanged: 0,
    dirsUnmodified: 0,
    totalFilesProcessed: 0,
    totalBytesProcessed: 0,
    bytesRead: 0,
  };
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping result order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Reads a file in blocks, one read ahead of the consumer (so reading overlaps chunking).
 * A file expected to be small is read in one block of its size (plus one byte to see EOF).
 */
async function* readFileChunks(
  fh: fsp.FileHandle,
  signal?: AbortSignal,
  sizeHint = Infinity,
  maxBlock = 2 * 1024 * 1024,
): AsyncGenerator<Buffer> {
  const blockSize = Math.max(4096, Math.min(maxBlock, sizeHint + 1));
  const readBlock = () =>
    profiledAsync('read', blockSize, async () => {
      const buf = Buffer.allocUnsafeSlow(blockSize);
      const { bytesRead } = await fh.read(buf, 0, blockSize, null);
      return bytesRead === blockSize ? buf : buf.subarray(0, bytesRead);
    });
  let next = readBlock();
  try {
    for (;;) {
      signal?.throwIfAborted();
      const buf = await next;
      if (buf.length === 0) return;
      next = readBlock();
      yield buf;
    }
  } finally {
    // The file is closed after this; let the read in flight finish first.
    await next.catch(() => undefined);
  }
}

function joinPath(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 1 && dir[0] === 0x2f) return Buffer.concat([dir, name]);
  return Buffer.concat([dir, Buffer.from('/'), name]);
}

interface WalkContext {
  repo: Repository;
  names: NameTables;
  exclude: ExcludeMatcher;
  counters: BackupCounters;
  fileConcurrency: number;
  /** Content of multiply-linked files already read in this run, by device:inode. */
  hardlinks: Map<string, Promise<string[] | undefined>>;
  warn: (p: Buffer, message: string) => void;
  signal?: AbortSignal;
}

function unchanged(node: TreeNode, old: TreeNode | undefined, repo: Repository): boolean {
  return (
    old !== undefined &&
    old.type === 'file' &&
    old.mtime === node.mtime &&
    old.ctime === node.ctime &&
    (old.size ?? 0n) === (node.size ?? 0n) &&
    old.inode === node.inode &&
    old.content !== null &&
    old.content.every((id) => repo.hasBlob('data', id))
  );
}

/**
 * Files smaller than this are read with synchronous calls: for a file of a few kilobytes
 * the promise round trips of open, read and close cost several times the read itself.
 */
const SYNC_READ_BELOW = 256 * 1024;

/**
 * Reads a small file in one block of its expected size, then on to EOF in case it grew (an
 * exact-size block is handed on whole, so it is not copied again on the way to a worker).
 */
function* readSmallFile(fd: number, sizeHint: number): Generator<Buffer> {
  let blockSize = sizeHint;
  for (;;) {
    const buf = Buffer.allocUnsafeSlow(Math.max(blockSize, 1));
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) return;
    yield n === buf.length ? buf : buf.subarray(0, n);
    if (n < buf.length) return;
    blockSize = 64 * 1024;
  }
}

async function readContent(ctx: WalkContext, p: Buffer, node: TreeNode): Promise<string[] | undefined> {
  const sizeHint = Number(node.size ?? 0n);
  let fh: fsp.FileHandle | undefined;
  let fd: number | undefined;
  try {
    let blocks: Iterable<Buffer> | AsyncIterable<Buffer>;
    if (sizeHint < SYNC_READ_BELOW) blocks = readSmallFile((fd = openSync(p, 'r')), sizeHint);
    else blocks = readFileChunks((fh = await fsp.open(p, 'r')), ctx.signal, sizeHint);
    const { content, size } = await saveChunked(ctx.repo, blocks, (n) => (ctx.counters.bytesRead += n));
    node.size = BigInt(size);
    return content;
  } catch (err) {
    // An unreadable file is a warning; a failing repository or an abort ends the backup.
    if (ctx.signal?.aborted || isHoldfastError(err)) throw err;
    ctx.warn(p, (err as Error).message);
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
    await fh?.close().catch(() => undefined);
  }
}

async function archiveFile(
  ctx: WalkContext,
  p: Buffer,
  node: TreeNode,
  old: TreeNode | undefined,
): Promise<boolean> {
  const c = ctx.counters;
  c.totalFilesProcessed++;
  c.totalBytesProcessed += Number(node.size ?? 0n);
  if (unchanged(node, old, ctx.repo)) {
    node.content = old!.content;
    c.filesUnmodified++;
    return true;
  }
  let content: string[] | undefined;
  if ((node.links ?? 1n) > 1n) {
    const key = `${node.deviceId}:${node.inode}`;
    let pending = ctx.hardlinks.get(key);
    if (!pending) ctx.hardlinks.set(key, (pending = readContent(ctx, p, node)));
    content = await pending;
  } else content = await readContent(ctx, p, node);
  if (!content) return false;
  node.content = content;
  if (old) c.filesChanged++;
  else c.filesNew++;
  return true;
}

async function archiveEntry(
  ctx: WalkContext,
  p: Buffer,
  name: Buffer,
  old: TreeNode | undefined,
): Promise<TreeNode | undefined> {
  if (ctx.exclude.matches(p.toString('utf8'))) return undefined;
  let st: BigIntStats;
  try {
    // Synchronous: an lstat is a few microseconds, its promise costs several times more, and
    // an unchanged backup is mostly lstat calls.
    st = lstatSync(p, { bigint: true });
  } catch (err) {
    ctx.warn(p, (err as Error).message);
    return undefined;
  }
  const node = nodeFromStat(name, st, ctx.names);
  switch (node.type) {
    case 'file':
      return (await archiveFile(ctx, p, node, old)) ? node : undefined;
    case 'dir': {
      const subtree = await archiveDir(ctx, p, old?.type === 'dir' ? old.subtree : undefined);
      if (subtree === undefined) return undefined;
      node.subtree = subtree;
      if (!old) ctx.counters.dirsNew++;
      else if (old.subtree === subtree) ctx.counters.dirsUnmodified++;
      else ctx.counters.dirsChanged++;
      return node;
    }
    case 'symlink':
      try {
        node.linktarget = await fsp.readlink(p, { encoding: 'buffer' });
      } catch (err) {
        ctx.warn(p, (err as Error).message);
        return undefined;
      }
      return node;
    default:
      return node;
  }
}

async function archiveDir(
  ctx: WalkContext,
  dir: Buffer,
  parentSubtree: string | undefined,
): Promise<string | undefined> {
  let names: Buffer[];
  try {
    names = await fsp.readdir(dir, { encoding: 'buffer' });
  } catch (err) {
    ctx.warn(dir, (err as Error).message);
    return undefined;
  }
  const old = new Map<string, TreeNode>();
  if (parentSubtree) {
    for (const n of await loadTree(ctx.repo, parentSubtree).catch(() => []))
      old.set(n.name.toString('hex'), n);
  }
  names.sort(Buffer.compare);
  // Subdirectories one at a time (bounded depth-first), files with some overlap.
  const nodes = await mapLimit(names, ctx.fileConcurrency, (name) =>
    archiveEntry(ctx, joinPath(dir, name), name, old.get(name.toString('hex'))),
  );
  return saveTree(
    ctx.repo,
    nodes.filter((n): n is TreeNode => n !== undefined),
  );
}

/** Targets as restic records them: absolute, cleaned, sorted, without duplicates. */
export function cleanTargets(paths: readonly string[], cwd: string): string[] {
  return [...new Set(paths.map((p) => path.resolve(cwd, p)))].sort();
}

interface VirtualDir {
  children: Map<string, VirtualDir | 'target'>;
}

function virtualTree(targets: readonly string[]): VirtualDir | 'target' {
  if (targets.includes('/')) return 'target';
  const root: VirtualDir = { children: new Map() };
  for (const t of targets) {
    const parts = t.split('/').filter(Boolean);
    let dir = root;
    for (let i = 0; i < parts.length; i++) {
      const existing = dir.children.get(parts[i]);
      if (existing === 'target') break;
      if (i === parts.length - 1) dir.children.set(parts[i], 'target');
      else {
        const next = existing ?? { children: new Map() };
        dir.children.set(parts[i], next);
        dir = next;
      }
    }
  }
  return root;
}

async function archiveVirtual(ctx: WalkContext, dir: string, v: VirtualDir, parentTree: string | undefined) {
  const old = new Map<string, TreeNode>();
  if (parentTree) {
    for (const n of await loadTree(ctx.repo, parentTree).catch(() => [])) old.set(n.name.toString('hex'), n);
  }
  const nodes: TreeNode[] = [];
  for (const [name, child] of v.children) {
    const full = path.join(dir, name);
    const nameBuf = Buffer.from(name);
    const prev = old.get(nameBuf.toString('hex'));
    if (child === 'target') {
      const node = await archiveEntry(ctx, Buffer.from(full), nameBuf, prev);
      if (node) nodes.push(node);
      continue;
    }
    let st: BigIntStats;
    try {
      st = await fsp.lstat(full, { bigint: true });
    } catch (err) {
      ctx.warn(Buffer.from(full), (err as Error).message);
      continue;
    }
    const node = nodeFromStat(nameBuf, st, ctx.names);
    node.subtree = await archiveVirtual(ctx, full, child, prev?.type === 'dir' ? prev.subtree : undefined);
    nodes.push(node);
  }
  return saveTree(ctx.repo, nodes);
}

export function snapshotBase(meta: SnapshotMeta, startNs: bigint): Omit<Snapshot, 'tree' | 'paths'> {
  const s: Omit<Snapshot, 'tree' | 'paths'> = {
    time: timeOf(meta.timeNs ?? startNs),
    hostname: meta.hostname,
  };
  if (meta.username) s.username = meta.username;
  if (meta.uid) s.uid = meta.uid;
  if (meta.gid) s.gid = meta.gid;
  if (meta.tags?.length) s.tags = [...meta.tags];
  if (meta.programVersion) s.programVersion = meta.programVersion;
  return s;
}

/** Backs up absolute `targets` (see cleanTargets) and writes the snapshot. */
export async function backupPaths(
  repo: Repository,
  targets: readonly string[],
  opts: PathBackupOptions,
): Promise<BackupResult> {
  const startNs = nowNs();
  let warnings = 0;
  const ctx: WalkContext = {
    repo,
    names: loadNameTables(),
    exclude: excludeMatcher(opts.excludes ?? []),
    counters: opts.counters ?? newCounters(),
    fileConcurrency: opts.fileConcurrency ?? 2,
    hardlinks: new Map(),
    signal: opts.signal,
    warn: (p, message) => {
      warnings++;
      opts.onWarning?.(p.toString('utf8'), message);
    },
  };
  const v = virtualTree(targets);
  const parentTree = opts.parent?.snapshot.tree;
  const tree =
    v === 'target'
      ? await archiveDir(ctx, Buffer.from('/'), parentTree)
      : await archiveVirtual(ctx, '/', v, parentTree);
  if (tree === undefined) fail('SOURCE_FAILED', 'the backup root could not be read');
  opts.signal?.throwIfAborted();
  await repo.flush();
  opts.signal?.throwIfAborted();
  const snapshot: Snapshot = { ...snapshotBase(opts, startNs), tree, paths: [...targets] };
  if (opts.parent) snapshot.parent = opts.parent.id;
  if (opts.excludes?.length) snapshot.excludes = [...opts.excludes];
  const snapshotId = await saveSnapshot(repo, snapshot);
  return { snapshotId, snapshot, counters: ctx.counters, warnings };
}
