/**
 * Backup of filesystem paths into a snapshot (restic's archiver): walks the targets,
 * stores file contents as content-defined chunks and directories as trees, reuses the
 * content of unchanged files from a parent snapshot, and writes the snapshot last, after
 * every pack and index it needs is stored. The caller holds a (shared) lock and has loaded
 * the index.
 */
import {
  closeSync,
  promises as fsp,
  type BigIntStats,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
} from 'node:fs';
import * as path from 'node:path';
import { fail, isHoldfastError } from '../errors.js';
import { Semaphore } from '../backends/limit.js';
import { BLOCK_SIZE, releaseBlock, takeBlock } from './block-pool.js';
import { type ChunkedContent, saveChunked } from './chunk-saver.js';
import { MIN_CHUNK } from './chunker.js';
import { profiledAsync } from './profile.js';
import { excludeMatcher, type ExcludeMatcher } from './exclude.js';
import type { TreeNode } from './node.js';
import { nodeFromStat, timeOf } from './node-stat.js';
import { loadNameTables, type NameTables } from './os-users.js';
import type { Repository } from './repository.js';
import type { Snapshot } from './snapshot.js';
import { saveSnapshot, type StoredSnapshot } from './snapshots.js';
import { type ParentEntry, parentEntries, sameGoTime } from './parent-entries.js';
import { type LoadedTree, loadTreeBytes, loadTreesBytes, saveTreeLike } from './tree-io.js';

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
 * Reads a file into pool blocks (block-pool.ts), one read ahead of the consumer (so reading
 * overlaps chunking). The consumer owns (and releases) each block it is given.
 */
async function* readFileBlocks(fh: fsp.FileHandle, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const readBlock = () =>
    profiledAsync('read', BLOCK_SIZE, async () => {
      const buf = takeBlock();
      try {
        const { bytesRead } = await fh.read(buf, 0, BLOCK_SIZE, null);
        return buf.subarray(0, bytesRead);
      } catch (err) {
        releaseBlock(buf);
        throw err;
      }
    });
  let ahead: Promise<Buffer> | undefined = readBlock();
  try {
    for (;;) {
      signal?.throwIfAborted();
      const buf: Buffer = await ahead;
      ahead = undefined;
      if (buf.length === 0) return releaseBlock(buf);
      ahead = readBlock();
      yield buf;
    }
  } finally {
    // The file is closed after this: let the read in flight finish, and give its block back.
    const unused = await ahead?.catch(() => undefined);
    if (unused) releaseBlock(unused);
  }
}

interface WalkContext {
  repo: Repository;
  names: NameTables;
  exclude: ExcludeMatcher;
  /** False when there are no exclude patterns (no path to turn into a string per entry). */
  excluding: boolean;
  counters: BackupCounters;
  fileConcurrency: number;
  /** Large files (read in blocks and chunked) are read one at a time. */
  largeFiles: Semaphore;
  /** Content of multiply-linked files already read in this run, by device:inode. */
  hardlinks: Map<string, Promise<string[] | undefined>>;
  warn: (p: Buffer, message: string) => void;
  signal?: AbortSignal;
}

function unchanged(node: TreeNode, old: ParentEntry | undefined, repo: Repository): boolean {
  return (
    old !== undefined &&
    old.type === 'file' &&
    sameGoTime(old.mtime, node.mtime) &&
    sameGoTime(old.ctime, node.ctime) &&
    (old.size ?? 0n) === (node.size ?? 0n) &&
    old.inode === node.inode &&
    old.content !== null &&
    allStored(repo, old.content)
  );
}

function allStored(repo: Repository, content: readonly string[]): boolean {
  for (const id of content) if (!repo.hasBlob('data', id)) return false;
  return true;
}

/** An unchanged file keeps its parent's content: counted, not read. False when it changed. */
function reuseUnchanged(ctx: WalkContext, node: TreeNode, old: ParentEntry | undefined): boolean {
  if (!unchanged(node, old, ctx.repo)) return false;
  node.content = old!.content;
  const c = ctx.counters;
  c.totalFilesProcessed++;
  c.totalBytesProcessed += Number(node.size ?? 0n);
  c.filesUnmodified++;
  return true;
}

/**
 * Files smaller than this are read with synchronous calls: for a file of a few kilobytes
 * the promise round trips of open, read and close cost several times the read itself.
 */
const SYNC_READ_BELOW = 256 * 1024;

/**
 * The buffer small files are read into. Reused: fresh memory costs a page fault per 4 KiB
 * here, and the repository copies a small blob into its batch before it returns.
 */
let smallFileBuffer: Buffer | undefined;

/**
 * Reads a small file whole into smallFileBuffer (one read, unless it grew); a file that grew
 * to a chunk's minimum size is no longer one chunk: what was read is then copied and the rest
 * read in blocks, for the chunker.
 */
function readSmallFile(fd: number): { whole: Buffer } | { blocks: Iterable<Buffer> } {
  const buf = (smallFileBuffer ??= Buffer.allocUnsafeSlow(MIN_CHUNK));
  let got = 0;
  for (;;) {
    const n = readSync(fd, buf, got, buf.length - got, null);
    if (n === 0) return { whole: buf.subarray(0, got) };
    got += n;
    if (got === buf.length) return { blocks: readOn(fd, Buffer.from(buf)) };
  }
}

function* readOn(fd: number, first: Buffer): Generator<Buffer> {
  yield first;
  for (;;) {
    const buf = Buffer.allocUnsafeSlow(MIN_CHUNK);
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) return;
    yield buf.subarray(0, n);
  }
}

/** Stores a small file's content from an open descriptor (read synchronously, see above). */
async function saveSmallFile(
  ctx: WalkContext,
  fd: number,
  onBytes: (n: number) => void,
): Promise<ChunkedContent> {
  const read = readSmallFile(fd);
  if ('blocks' in read) return saveChunked(ctx.repo, read.blocks, onBytes);
  const data = read.whole;
  onBytes(data.length);
  if (data.length === 0) return { content: [], size: 0 };
  const { id } = await ctx.repo.submitBlob('data', data); // copied before it returns
  return { content: [await id], size: data.length };
}

/** Stores a file's content: its blob IDs, and its size as read. */
async function saveContent(ctx: WalkContext, p: Buffer, sizeHint: number): Promise<ChunkedContent> {
  const onBytes = (n: number) => (ctx.counters.bytesRead += n);
  if (sizeHint < SYNC_READ_BELOW) {
    const fd = openSync(p, 'r');
    try {
      return await saveSmallFile(ctx, fd, onBytes);
    } finally {
      closeSync(fd);
    }
  }
  // One large file at a time (small ones go on beside it): a single file's pipeline keeps
  // both workers busy, and two at once held twice the blocks (measured: about 20 MiB more
  // peak RSS, and no faster).
  return ctx.largeFiles.run(async () => {
    const fh = await fsp.open(p, 'r');
    try {
      return await saveChunked(ctx.repo, readFileBlocks(fh, ctx.signal), onBytes);
    } finally {
      await fh.close().catch(() => undefined);
    }
  });
}

async function readContent(ctx: WalkContext, p: Buffer, node: TreeNode): Promise<string[] | undefined> {
  try {
    const { content, size } = await saveContent(ctx, p, Number(node.size ?? 0n));
    node.size = BigInt(size);
    return content;
  } catch (err) {
    // An unreadable file is a warning; a failing repository or an abort ends the backup.
    if (ctx.signal?.aborted || isHoldfastError(err)) throw err;
    ctx.warn(p, (err as Error).message);
    return undefined;
  }
}

async function archiveFile(
  ctx: WalkContext,
  p: Buffer,
  node: TreeNode,
  old: ParentEntry | undefined,
): Promise<boolean> {
  if (reuseUnchanged(ctx, node, old)) return true;
  const c = ctx.counters;
  c.totalFilesProcessed++;
  c.totalBytesProcessed += Number(node.size ?? 0n);
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

/** The parent's tree of a directory, being loaded; undefined when it cannot be read. */
type ParentTree = Promise<LoadedTree | undefined>;

/**
 * Parent subtrees are loaded this many directories ahead of the walk (per directory), so the
 * walk seldom waits on a read and memory stays bounded however wide the tree is.
 */
const PREFETCH_TREES = 16;

function loadParentTree(ctx: WalkContext, id: string | undefined): ParentTree | undefined {
  // An unreadable parent tree only costs the parent information: its files are read again.
  return id ? loadTreeBytes(ctx.repo, id).catch(() => undefined) : undefined;
}

/** The parent tree's entries by raw name (latin1: one character per byte); none if it is undecodable. */
function parentNodes(tree: LoadedTree | undefined): Map<string, ParentEntry> {
  const out = new Map<string, ParentEntry>();
  let nodes: ParentEntry[] = [];
  try {
    if (tree) nodes = parentEntries(tree.bytes);
  } catch {
    // As an unreadable parent tree: no parent information for this directory.
  }
  for (const n of nodes) out.set(n.name.toString('latin1'), n);
  return out;
}

function parentSubtree(old: ParentEntry | undefined): string | undefined {
  return old?.type === 'dir' ? old.subtree : undefined;
}

/**
 * Loads the parent's subtrees of a directory's entries ahead of the walk: PREFETCH_TREES at
 * first, then refilled by halves so that neighbouring subtrees come in one read. The function
 * returned gives entry i's parent tree (loaded ahead), or undefined if it was no directory.
 */
function subtreeLoader(
  ctx: WalkContext,
  olds: readonly (ParentEntry | undefined)[],
): (i: number) => ParentTree | undefined {
  const dirs: number[] = []; // entries that were directories, in walk order
  const rank = new Map<number, number>();
  for (let i = 0; i < olds.length; i++) if (parentSubtree(olds[i])) rank.set(i, dirs.push(i) - 1);
  const loads = new Map<number, ParentTree>();
  let ahead = 0;
  const loadTo = (end: number) => {
    const batch = dirs.slice(ahead, Math.min(end, dirs.length));
    ahead += batch.length;
    const trees = loadTreesBytes(
      ctx.repo,
      batch.map((i) => parentSubtree(olds[i])!),
    );
    for (const i of batch)
      loads.set(
        i,
        trees.get(parentSubtree(olds[i])!)!.catch(() => undefined),
      );
  };
  loadTo(PREFETCH_TREES);
  return (i) => {
    const r = rank.get(i);
    if (r === undefined) return undefined;
    if (ahead - r <= PREFETCH_TREES / 2) loadTo(r + 1 + PREFETCH_TREES);
    const load = loads.get(i);
    loads.delete(i);
    return load;
  };
}

/** lstat()s an entry into a node; undefined when excluded or unreadable (a warning). */
function statEntry(ctx: WalkContext, p: Buffer, name: Buffer): TreeNode | undefined {
  if (ctx.excluding && ctx.exclude.matches(p.toString('utf8'))) return undefined;
  let st: BigIntStats;
  try {
    // Synchronous: an lstat is a few microseconds, its promise costs several times more, and
    // an unchanged backup is mostly lstat calls.
    st = lstatSync(p, { bigint: true });
  } catch (err) {
    ctx.warn(p, (err as Error).message);
    return undefined;
  }
  return nodeFromStat(name, st, ctx.names);
}

/** Completes a node: a file's content, a directory's subtree, a symlink's target. */
async function finishEntry(
  ctx: WalkContext,
  p: Buffer,
  node: TreeNode,
  old: ParentEntry | undefined,
  parentTree?: ParentTree,
): Promise<TreeNode | undefined> {
  switch (node.type) {
    case 'file':
      return (await archiveFile(ctx, p, node, old)) ? node : undefined;
    case 'dir': {
      const subtree = await archiveDir(ctx, p, parentTree ?? loadParentTree(ctx, parentSubtree(old)));
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

async function archiveEntry(
  ctx: WalkContext,
  p: Buffer,
  name: Buffer,
  old: ParentEntry | undefined,
): Promise<TreeNode | undefined> {
  const node = statEntry(ctx, p, name);
  return node && finishEntry(ctx, p, node, old);
}

/**
 * Backs up a directory and returns its tree ID. Entries are lstat()ed in name order and
 * unchanged files settled on the spot; the rest (changed files, subdirectories, symlinks)
 * follow with `fileConcurrency` at a time, subdirectories depth-first, their parent trees
 * loaded ahead (subtreeLoader).
 */
async function archiveDir(
  ctx: WalkContext,
  dir: Buffer,
  parentTree: ParentTree | undefined,
): Promise<string | undefined> {
  let names: string[];
  try {
    // Synchronous like lstat: the names are needed at once, and the promise's round trip
    // through the thread pool costs more than the call. Latin-1 strings hold one byte per
    // character: they sort bytewise (as restic sorts names) and convert back losslessly, at
    // a fraction of the cost of a Buffer per name.
    names = readdirSync(dir, { encoding: 'latin1' });
  } catch (err) {
    ctx.warn(dir, (err as Error).message);
    return undefined;
  }
  const prev = await parentTree;
  const oldByName = parentNodes(prev);
  names.sort();
  const olds = names.map((name) => oldByName.get(name));
  const prefix = dir.length === 1 && dir[0] === 0x2f ? '/' : `${dir.toString('latin1')}/`;

  const takeParentTree = subtreeLoader(ctx, olds);

  const nodes: (TreeNode | undefined)[] = new Array(names.length);
  const paths: Buffer[] = new Array(names.length);
  const rest: number[] = [];
  for (let i = 0; i < names.length; i++) {
    const p = (paths[i] = Buffer.from(prefix + names[i], 'latin1'));
    const node = statEntry(ctx, p, Buffer.from(names[i], 'latin1'));
    if (!node) continue;
    nodes[i] = node;
    if (node.type !== 'file' || !reuseUnchanged(ctx, node, olds[i])) rest.push(i);
  }
  await mapLimit(rest, ctx.fileConcurrency, async (i) => {
    nodes[i] = await finishEntry(ctx, paths[i], nodes[i]!, olds[i], takeParentTree(i));
  });
  return saveTreeLike(
    ctx.repo,
    nodes.filter((n): n is TreeNode => n !== undefined),
    prev,
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

async function archiveVirtual(
  ctx: WalkContext,
  dir: string,
  v: VirtualDir,
  parentTree: ParentTree | undefined,
): Promise<string> {
  const parent = await parentTree;
  const old = parentNodes(parent);
  const nodes: TreeNode[] = [];
  for (const [name, child] of v.children) {
    const full = path.join(dir, name);
    const nameBuf = Buffer.from(name);
    const prev = old.get(nameBuf.toString('latin1'));
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
    node.subtree = await archiveVirtual(ctx, full, child, loadParentTree(ctx, parentSubtree(prev)));
    nodes.push(node);
  }
  return saveTreeLike(ctx.repo, nodes, parent);
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
    excluding: (opts.excludes ?? []).length > 0,
    counters: opts.counters ?? newCounters(),
    fileConcurrency: opts.fileConcurrency ?? 2,
    largeFiles: new Semaphore(1),
    hardlinks: new Map(),
    signal: opts.signal,
    warn: (p, message) => {
      warnings++;
      opts.onWarning?.(p.toString('utf8'), message);
    },
  };
  const v = virtualTree(targets);
  const parentTree = loadParentTree(ctx, opts.parent?.snapshot.tree);
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
