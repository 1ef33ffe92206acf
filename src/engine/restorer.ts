/**
 * Restore of a snapshot, or of one path inside it, into a target directory: files, dirs,
 * symlinks, hard links, fifos, with modes, owners (when run as root) and times.
 *
 * Like restic, it first loads the trees (a level at a time, each tree pack read once per
 * level: restore-read.ts) and plans (restore-plan.ts), creating the directories, then reads
 * the repository pack by pack: each pack's needed blobs are read once, in ranges of about
 * 2 MiB, and each range goes to a job (restore-job.ts) on one of the blob worker threads
 * (worker-pool.ts; inline without workers) that opens and verifies every blob in it and
 * writes it at each place any file needs it. A file whose blobs all lie in one range is
 * created, written and finished by that job; the others are held open here
 * (restore-files.ts) and their descriptors lent to the jobs. A few ranges are in flight at
 * once, their bytes bounded. A damaged blob stops the restore and the files it left
 * unfinished are removed.
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
import { type JobBlob, type JobOutcome, type JobTarget, runSpanJob, type SpanJob } from './restore-job.js';
import type { PackSpan } from './pack-span.js';
import {
  type NeededBlob,
  type PackJob,
  packJobs,
  type PlannedEntry,
  type PlannedFile,
  planRestore,
  type RestorePlan,
} from './restore-plan.js';
import { ByteBudget, forEachSettled, loadListing, readSpan, type Stop } from './restore-read.js';
import { isWorkerLost, type WorkerPool } from './worker-pool.js';
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
 * Ranges read and handed to jobs at once; sealed bytes of those ranges (read, queued or being
 * opened and written); the longest range one job takes (a pack's needed blobs are split into
 * ranges of about this much, so that the threads share a pack and memory stays bounded);
 * empty files made at once.
 */
const READS_AT_ONCE = 4;
const SPAN_BYTES_AT_ONCE = 8 * 1024 * 1024;
const JOB_SPAN = 2 * 1024 * 1024;
const FILES_AT_ONCE = 16;

const run = promisify(execFile);

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
  isRoot: boolean;
  /** Undefined: jobs run inline (a repository without worker threads). */
  /** The blob workers that run the jobs; none: inline. */
  pool: WorkerPool | undefined;
}

/** A file a job writes into through a descriptor the writer holds, and what the job adds. */
interface HeldFile {
  file: PlannedFile;
  writes: number;
  end: number;
}

/**
 * The job for one range: a file all of whose writes lie in it is created and finished by the
 * job (unless verifying: verification runs here); every other file is held open here and
 * its descriptor lent to the job.
 */
function describeJob(ctx: Ctx, span: PackSpan<NeededBlob>): { job: SpanJob; held: HeldFile[] } {
  const inSpan = new Map<PlannedFile, number>();
  for (const b of span.blobs) for (const t of b.targets) inSpan.set(t.file, (inSpan.get(t.file) ?? 0) + 1);
  const targetOf = new Map<PlannedFile, number>();
  const targets: JobTarget[] = [];
  const held: HeldFile[] = [];
  const heldOf = new Map<PlannedFile, HeldFile>();
  const sparse = ctx.opts.sparse === true;
  const blobs = span.blobs.map((b): JobBlob => {
    const len = plaintextLength(b.loc);
    const writes: number[] = [];
    for (const { file, offset } of b.targets) {
      let i = targetOf.get(file);
      if (i === undefined) {
        i = targets.length;
        targetOf.set(file, i);
        if (!ctx.opts.verify && inSpan.get(file) === file.writes) {
          const n = file.node;
          targets.push({
            file: {
              path: file.path,
              size: file.size,
              perm: unixPermOf(n.mode),
              uid: n.uid,
              gid: n.gid,
              chown: ctx.isRoot,
              atime: n.atime,
              mtime: n.mtime,
            },
          });
        } else {
          targets.push({ fd: -1 });
          const h: HeldFile = { file, writes: 0, end: 0 };
          held.push(h);
          heldOf.set(file, h);
        }
      }
      const h = heldOf.get(file);
      if (h) {
        h.writes++;
        // A sparse restore may leave the tail a hole: the file is then set to its size.
        if (!sparse) h.end = Math.max(h.end, offset + len);
      }
      writes.push(i, offset);
    }
    return {
      id: b.loc.id,
      packId: b.loc.packId,
      uncompressedLength: b.loc.uncompressedLength,
      at: b.loc.offset - span.offset,
      length: b.loc.length,
      writes,
    };
  });
  return { job: { sparse, blobs, targets }, held };
}

/**
 * Runs a job on a blob worker. The range moves there (copied when it shares its memory); a
 * range of a local pack the worker reads itself, and when it cannot, it is read here through
 * the backend (which words the error) and sent.
 */
async function runOnWorker(
  ctx: Ctx,
  pool: WorkerPool,
  source: SpanSource,
  job: SpanJob,
): Promise<JobOutcome> {
  if (!Buffer.isBuffer(source)) {
    const { path, packId, span } = source;
    const file = { op: 'restoreSpanFile' as const, key: ctx.repo.workerKey, path, job };
    const r = await pool.run<{ outcome: JobOutcome } | { unread: string }>({
      ...file,
      offset: span.offset,
      length: span.length,
    });
    if ('outcome' in r) return r.outcome;
    return runOnWorker(ctx, pool, await readSpan(ctx.repo, packId, span), job);
  }
  const bytes = source;
  const owns = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const data = owns ? bytes : Uint8Array.prototype.slice.call(bytes);
  const r = await pool.run<{ outcome: JobOutcome }>(
    { op: 'restoreSpan', key: ctx.repo.workerKey, data, job },
    [data.buffer as ArrayBuffer],
  );
  return r.outcome;
}

/** A range's bytes as read here, or where a worker can read them itself. */
type SpanSource = Buffer | { path: string; packId: string; span: PackSpan<NeededBlob> };

/** Runs the job of one range read from its pack, on a blob worker or inline. */
async function runJob(ctx: Ctx, span: PackSpan<NeededBlob>, bytes: SpanSource): Promise<void> {
  const { job, held } = describeJob(ctx, span);
  const fds = await Promise.allSettled(held.map((h) => ctx.writer.hold(h.file)));
  const failed = fds.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    fds.forEach((r, i) => r.status === 'fulfilled' && ctx.writer.release(held[i].file));
    throw failed.reason;
  }
  let k = 0;
  for (const t of job.targets) if ('fd' in t) t.fd = (fds[k++] as PromiseFulfilledResult<number>).value;
  let outcome: JobOutcome;
  try {
    // Without workers the range is always read here (restoreSpan).
    outcome = ctx.pool
      ? await runOnWorker(ctx, ctx.pool, bytes, job)
      : runSpanJob(ctx.repo.key, bytes as Buffer, job);
  } catch (err) {
    for (const h of held) ctx.writer.release(h.file);
    if (isWorkerLost(err))
      // What the thread did is unknown: remove every file the job owned.
      for (const t of job.targets) if ('file' in t) fs.rmSync(Buffer.from(t.file.path), { force: true });
    throw err;
  }
  ctx.counters.bytes += outcome.bytes;
  ctx.counters.files += outcome.finished.length;
  for (const [p, m] of outcome.warnings) ctx.opts.onWarning?.(p, m);
  for (const h of held) ctx.writer.release(h.file, h);
}

/** Reads one range of a pack (bounded bytes in flight) and runs its job. */
async function restoreSpan(ctx: Ctx, packId: string, span: PackSpan<NeededBlob>): Promise<void> {
  await ctx.budget.acquire(span.length);
  try {
    if (ctx.stop.failed) return;
    // Workers read local packs themselves: nothing passes through this thread.
    const path = ctx.pool && ctx.repo.backend.localPath?.({ type: 'pack', name: packId });
    const bytes = path ? { path, packId, span } : await readSpan(ctx.repo, packId, span);
    if (ctx.stop.failed) return;
    await runJob(ctx, span, bytes);
  } finally {
    ctx.budget.release(span.length);
  }
}

/** Writes every regular file of the plan; on failure removes the unfinished ones. */
async function writeFiles(ctx: Ctx, plan: RestorePlan, packs: PackJob[]): Promise<void> {
  try {
    const empty = plan.files.filter((f) => f.writes === 0);
    await forEachSettled(empty, FILES_AT_ONCE, ctx.stop, (f) => ctx.writer.createEmpty(f));
    const spans = packs.flatMap((p) => p.spans.map((s) => [p.packId, s] as const));
    await forEachSettled(spans, READS_AT_ONCE, ctx.stop, ([packId, span]) => restoreSpan(ctx, packId, span));
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
  const packs = packJobs(repo.index, plan.files, JOB_SPAN);
  for (const d of plan.dirs) {
    fs.mkdirSync(d.path, { recursive: true, mode: 0o700 });
    counters.dirs++;
  }
  const ctx: Ctx = {
    repo,
    opts,
    counters,
    isRoot,
    pool: repo.workerPool,
    stop: { failed: false },
    budget: new ByteBudget(SPAN_BYTES_AT_ONCE),
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
