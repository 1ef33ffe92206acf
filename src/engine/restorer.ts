/**
 * Restore of a snapshot, or of one path inside it, into a target directory: files, dirs,
 * symlinks, hard links, fifos, with modes, owners (when run as root) and times.
 *
 * Like restic, it first loads the trees (a level at a time, each tree pack read once per
 * level: restore-read.ts) and plans (restore-plan.ts), creating the directories, then reads
 * the repository pack by pack: each pack's needed byte range is read once, every blob in it
 * is opened and verified against its ID (large ones on the worker threads), and written at
 * each place any file needs it (restore-files.ts). A few packs are in flight at once, with
 * the bytes being opened and written bounded. A damaged blob stops the restore and the
 * files it left unfinished are removed.
 * Hard links, symlinks and fifos follow the files; directory metadata comes last, deepest
 * first. `verify` re-reads each restored file and checks it again.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { fail, HoldfastError } from '../errors.js';
import type { TreeNode } from './node.js';
import { unixPermOf } from './node-stat.js';
import { FileWriter, toSeconds } from './restore-files.js';
import {
  type NeededBlob,
  type PackJob,
  packJobs,
  type PlannedEntry,
  planRestore,
  type RestorePlan,
} from './restore-plan.js';
import { ByteBudget, forEachSettled, loadListing, readSpan, sealedIn, type Stop } from './restore-read.js';
import { plaintextLength } from './master-index.js';
import type { Repository } from './repository.js';

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

/**
 * Packs read and scattered at once; blobs of one pack range being opened and written at once
 * (most of them small files, each waiting for its file to be created); plaintext bytes of
 * the blobs being opened and written at once, over all packs; empty files made at once.
 */
const PACKS_AT_ONCE = 4;
const BLOBS_AT_ONCE = 16;
const BLOB_BYTES_AT_ONCE = 32 * 1024 * 1024;
const FILES_AT_ONCE = 16;
/**
 * Blobs smaller than this are opened on the main thread: the copy and the round trip to a
 * worker thread cost more than opening them (a restore's main thread is its busiest).
 */
const INLINE_BELOW = 64 * 1024;

const run = promisify(execFile);

const ZEROS = Buffer.alloc(64 * 1024);

function isZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i += ZEROS.length) {
    const n = Math.min(ZEROS.length, buf.length - i);
    if (buf.compare(ZEROS, 0, n, i, i + n) !== 0) return false;
  }
  return true;
}

/** Owner (as root), mode (not of symlinks) and times by path; a failure is a warning. */
function applyMetadata(opts: RestoreOptions, isRoot: boolean, p: Buffer, node: TreeNode): void {
  try {
    if (isRoot) fs.lchownSync(p, node.uid, node.gid);
    if (node.type !== 'symlink') fs.chmodSync(p, unixPermOf(node.mode));
    fs.lutimesSync(p, toSeconds(node.atime), toSeconds(node.mtime));
  } catch (err) {
    opts.onWarning?.(p.toString('utf8'), `cannot set metadata: ${(err as Error).message}`);
  }
}

interface Ctx {
  repo: Repository;
  opts: RestoreOptions;
  counters: RestoreCounters;
  writer: FileWriter;
  stop: Stop;
  budget: ByteBudget;
}

/** Writes one opened blob wherever it goes. */
async function scatter(ctx: Ctx, blob: NeededBlob, plain: Buffer): Promise<void> {
  if (ctx.stop.failed) return;
  const skip = ctx.opts.sparse === true && isZero(plain);
  await Promise.all(blob.targets.map((t) => ctx.writer.write(t.file, t.offset, plain, skip)));
  ctx.counters.bytes += plain.length * blob.targets.length;
}

/**
 * Reads each needed range of a pack once and scatters its blobs: the small ones opened here,
 * then the rest on a worker in one message that takes the range with it (no copy per blob).
 */
async function restorePack(ctx: Ctx, job: PackJob): Promise<void> {
  for (const span of job.spans) {
    if (ctx.stop.failed) return;
    const size = span.blobs.reduce((n, b) => n + plaintextLength(b.loc), 0);
    await ctx.budget.acquire(size);
    try {
      if (ctx.stop.failed) return;
      const bytes = await readSpan(ctx.repo, job.packId, span);
      const small = span.blobs.filter((b) => plaintextLength(b.loc) < INLINE_BELOW);
      const large = span.blobs.filter((b) => plaintextLength(b.loc) >= INLINE_BELOW);
      const opened = small.map((b) => ctx.repo.decodeBlob(b.loc, sealedIn(bytes, span.offset, b.loc)));
      const rest = large.length
        ? ctx.repo.decodeBlobsAsync(
            bytes,
            span.offset,
            large.map((b) => b.loc),
          )
        : Promise.resolve([]);
      rest.catch(() => undefined); // awaited below
      await forEachSettled(
        small.map((b, i) => [b, opened[i]] as const),
        BLOBS_AT_ONCE,
        ctx.stop,
        ([b, plain]) => scatter(ctx, b, plain),
      );
      const plains = await rest;
      await forEachSettled(
        large.map((b, i) => [b, plains[i]] as const),
        BLOBS_AT_ONCE,
        ctx.stop,
        ([b, plain]) => scatter(ctx, b, plain),
      );
    } finally {
      ctx.budget.release(size);
    }
  }
}

/** Writes every regular file of the plan; on failure removes the unfinished ones. */
async function writeFiles(ctx: Ctx, plan: RestorePlan, packs: PackJob[]): Promise<void> {
  try {
    const empty = plan.files.filter((f) => f.writes === 0);
    await forEachSettled(empty, FILES_AT_ONCE, ctx.stop, (f) => ctx.writer.createEmpty(f));
    await forEachSettled(packs, PACKS_AT_ONCE, ctx.stop, (job) => restorePack(ctx, job));
  } catch (err) {
    ctx.writer.abort();
    throw err;
  }
}

async function makeSpecial(ctx: Ctx, isRoot: boolean, { path: p, node }: PlannedEntry): Promise<void> {
  switch (node.type) {
    case 'symlink':
      fs.rmSync(p, { force: true });
      fs.symlinkSync(node.linktarget ?? Buffer.alloc(0), p);
      break;
    case 'fifo':
      fs.rmSync(p, { force: true });
      await run('mkfifo', ['--', p.toString('utf8')]).catch((err: Error) =>
        ctx.opts.onWarning?.(p.toString('utf8'), `cannot create fifo: ${err.message}`),
      );
      break;
    default:
      ctx.opts.onWarning?.(p.toString('utf8'), `not restored: ${node.type} nodes are not supported`);
      return;
  }
  applyMetadata(ctx.opts, isRoot, p, node);
}

export function newRestoreCounters(): RestoreCounters {
  return { files: 0, dirs: 0, bytes: 0, verifiedFiles: 0 };
}

async function restoreInto(
  repo: Repository,
  node: TreeNode,
  opts: RestoreOptions,
  counters: RestoreCounters,
) {
  const isRoot = process.getuid?.() === 0;
  const target = Buffer.from(opts.target);
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  const listing = node.type === 'dir' && node.subtree ? await loadListing(repo, node.subtree) : undefined;
  const plan = planRestore(repo.index, node, target, listing);
  const packs = packJobs(repo.index, plan.files);
  for (const d of plan.dirs) {
    fs.mkdirSync(d.path, { recursive: true, mode: 0o700 });
    counters.dirs++;
  }
  const ctx: Ctx = {
    repo,
    opts,
    counters,
    stop: { failed: false },
    budget: new ByteBudget(BLOB_BYTES_AT_ONCE),
    writer: new FileWriter({
      verify: opts.verify === true,
      isRoot,
      index: repo.index,
      onWarning: opts.onWarning,
      onFinished: () => {
        counters.files++;
        if (opts.verify) counters.verifiedFiles++;
      },
    }),
  };
  await writeFiles(ctx, plan, packs);
  for (const link of plan.links) {
    fs.rmSync(link.path, { force: true });
    fs.linkSync(link.target.path, link.path);
    counters.files++;
  }
  for (const special of plan.specials) await makeSpecial(ctx, isRoot, special);
  for (let i = plan.dirs.length - 1; i >= 0; i--)
    applyMetadata(opts, isRoot, plan.dirs[i].path, plan.dirs[i].node);
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
  const counters = opts.counters ?? newRestoreCounters();
  try {
    await restoreInto(repo, node, opts, counters);
  } catch (err) {
    if (err instanceof HoldfastError) throw err;
    fail('IO', `restore into ${opts.target} failed: ${(err as Error).message}`, err);
  }
  return counters;
}
