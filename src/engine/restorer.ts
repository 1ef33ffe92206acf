/**
 * Restore of a snapshot, or of one path inside it, into a target directory: files, dirs,
 * symlinks, hard links, fifos, with modes, owners (when run as root) and times. Every blob
 * is verified against its ID before it is written; a damaged blob stops the restore and the
 * partly written file is removed. `verify` re-reads each restored file and checks it again.
 * A few files are restored at once and each file's next blobs are loaded (and opened on the
 * worker threads) while the current one is written.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { promisify } from 'node:util';
import { fail, HoldfastError } from '../errors.js';
import { parseGoTime } from './gotime.js';
import { lookupBlob, plaintextLength } from './master-index.js';
import type { TreeNode } from './node.js';
import { unixPermOf } from './node-stat.js';
import type { Repository } from './repository.js';
import { loadTree } from './tree-io.js';

export interface RestoreCounters {
  files: number;
  dirs: number;
  bytes: number;
  verifiedFiles: number;
}

export interface RestoreOptions {
  /** Directory that receives the restored node (created when missing). */
  target: string;
  verify?: boolean;
  /** Leave holes for all-zero chunks instead of writing them. */
  sparse?: boolean;
  counters?: RestoreCounters;
  onWarning?: (path: string, message: string) => void;
}

interface Ctx {
  repo: Repository;
  opts: RestoreOptions;
  counters: RestoreCounters;
  isRoot: boolean;
  /** First restored path of each multiply-linked inode (settles once that file is written). */
  hardlinks: Map<string, Promise<Buffer>>;
}

/**
 * Files of one directory restored at once (creating a file can take most of a millisecond
 * of I/O wait; libuv's pool is widened for this by bin/holdfast.js); blobs of one file
 * loaded ahead of the writes.
 */
const FILES_AT_ONCE = 16;
const BLOBS_AHEAD = 4;

/** Runs `fn` over `items` with at most `limit` in flight. */
async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      try {
        await fn(items[next++]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const run = promisify(execFile);

function join(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, Buffer.from('/'), name]);
}

function toSeconds(goTime: string): number {
  const ns = parseGoTime(goTime);
  // libuv truncates to whole microseconds; aim at the middle of the microsecond so that the
  // rounding of the double (about 0.24 µs today) cannot push the time into the one before.
  return (Number(ns / 1000n) + 0.5) / 1e6;
}

function isZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

async function applyMetadata(ctx: Ctx, p: Buffer, node: TreeNode): Promise<void> {
  try {
    if (ctx.isRoot) await fsp.lchown(p, node.uid, node.gid);
    if (node.type !== 'symlink') await fsp.chmod(p, unixPermOf(node.mode));
    await fsp.lutimes(p, toSeconds(node.atime), toSeconds(node.mtime));
  } catch (err) {
    ctx.opts.onWarning?.(p.toString('utf8'), `cannot set metadata: ${(err as Error).message}`);
  }
}

async function writeFile(ctx: Ctx, p: Buffer, node: TreeNode): Promise<void> {
  const fh = await fsp.open(p, 'w', 0o600);
  let pos = 0;
  const ids = node.content ?? [];
  const loads: Promise<Buffer>[] = [];
  const load = (i: number) => {
    if (i < ids.length && !loads[i]) {
      loads[i] = ctx.repo.loadBlob('data', ids[i]);
      loads[i].catch(() => undefined); // observed in order below
    }
  };
  try {
    for (let i = 0; i < ids.length; i++) {
      for (let j = i; j < i + BLOBS_AHEAD; j++) load(j);
      const blob = await loads[i];
      delete loads[i];
      if (!(ctx.opts.sparse && isZero(blob))) await fh.write(blob, 0, blob.length, pos);
      pos += blob.length;
      ctx.counters.bytes += blob.length;
    }
    await fh.truncate(pos);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fsp.rm(p, { force: true }).catch(() => undefined);
    throw err;
  }
  await fh.close();
}

/** Re-reads a restored file and checks every chunk against its blob ID. */
async function verifyFile(ctx: Ctx, p: Buffer, node: TreeNode): Promise<void> {
  const fh = await fsp.open(p, 'r');
  try {
    let pos = 0;
    for (const id of node.content ?? []) {
      const loc = lookupBlob(ctx.repo.index, 'data', id);
      if (!loc) fail('NOT_FOUND', `data blob ${id} is not in the index`);
      const len = plaintextLength(loc);
      const buf = Buffer.alloc(len);
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      if (bytesRead !== len || createHash('sha256').update(buf).digest('hex') !== id) {
        fail(
          'INTEGRITY',
          `verification failed: ${p.toString('utf8')} differs from the snapshot at offset ${pos}`,
        );
      }
      pos += len;
    }
    if ((await fh.stat()).size !== pos)
      fail('INTEGRITY', `verification failed: ${p.toString('utf8')} has the wrong size`);
  } finally {
    await fh.close();
  }
  ctx.counters.verifiedFiles++;
}

async function restoreEntry(ctx: Ctx, p: Buffer, node: TreeNode): Promise<void> {
  switch (node.type) {
    case 'dir': {
      await fsp.mkdir(p, { recursive: true, mode: 0o700 });
      if (node.subtree) await restoreChildren(ctx, p, node.subtree);
      ctx.counters.dirs++;
      break;
    }
    case 'file': {
      const key = `${node.deviceId ?? 0n}:${node.inode ?? 0n}`;
      const linked = (node.links ?? 1n) > 1n;
      const first = linked ? ctx.hardlinks.get(key) : undefined;
      if (first) {
        const target = await first;
        await fsp.rm(p, { force: true });
        await fsp.link(target, p);
        ctx.counters.files++;
        return;
      }
      let written!: (p: Buffer) => void;
      let notWritten!: (err: unknown) => void;
      if (linked) {
        const done = new Promise<Buffer>((resolve, reject) => ((written = resolve), (notWritten = reject)));
        done.catch(() => undefined);
        ctx.hardlinks.set(key, done);
      }
      try {
        await writeFile(ctx, p, node);
      } catch (err) {
        notWritten?.(err);
        throw err;
      }
      written?.(p);
      if (ctx.opts.verify) await verifyFile(ctx, p, node);
      ctx.counters.files++;
      break;
    }
    case 'symlink':
      await fsp.rm(p, { force: true });
      await fsp.symlink(node.linktarget ?? Buffer.alloc(0), p);
      break;
    case 'fifo':
      await fsp.rm(p, { force: true });
      await run('mkfifo', ['--', p.toString('utf8')]).catch((err: Error) =>
        ctx.opts.onWarning?.(p.toString('utf8'), `cannot create fifo: ${err.message}`),
      );
      break;
    default:
      ctx.opts.onWarning?.(p.toString('utf8'), `not restored: ${node.type} nodes are not supported`);
      return;
  }
  await applyMetadata(ctx, p, node);
}

/** Restores a directory's entries: files a few at a time, subdirectories one after another. */
async function restoreChildren(ctx: Ctx, dir: Buffer, subtree: string): Promise<void> {
  const children = await loadTree(ctx.repo, subtree);
  const files = children.filter((c) => c.type === 'file');
  await forEachLimit(files, FILES_AT_ONCE, (child) => restoreEntry(ctx, join(dir, child.name), child));
  for (const child of children)
    if (child.type !== 'file') await restoreEntry(ctx, join(dir, child.name), child);
}

export function newRestoreCounters(): RestoreCounters {
  return { files: 0, dirs: 0, bytes: 0, verifiedFiles: 0 };
}

/**
 * Restores `node` into `opts.target`. A directory node's contents go directly into the
 * target (like `restic restore ID:subdir`); a file node is restored as target/NAME. For a
 * whole snapshot pass its root node (walker.rootNode).
 */
export async function restore(
  repo: Repository,
  node: TreeNode,
  opts: RestoreOptions,
): Promise<RestoreCounters> {
  const ctx: Ctx = {
    repo,
    opts,
    counters: opts.counters ?? newRestoreCounters(),
    isRoot: process.getuid?.() === 0,
    hardlinks: new Map(),
  };
  const target = Buffer.from(opts.target);
  try {
    await fsp.mkdir(target, { recursive: true, mode: 0o700 });
    if (node.type === 'dir') {
      if (node.subtree) await restoreChildren(ctx, target, node.subtree);
    } else await restoreEntry(ctx, join(target, node.name), node);
  } catch (err) {
    if (err instanceof HoldfastError) throw err;
    fail('IO', `restore into ${opts.target} failed: ${(err as Error).message}`, err);
  }
  return ctx.counters;
}
