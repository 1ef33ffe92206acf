/**
 * The file side of a restore by pack: blobs arrive in pack order, not file order, and each is
 * written at its offset in every file that needs it (positional writes). A file is created by
 * its first write, kept open (at most MAX_OPEN files; the least recently used one is closed and
 * reopened when needed again), and finished by its last: set to its size (the holes of a
 * sparse restore included), optionally read back and checked, given its owner, mode and
 * times, and closed. A failed restore removes every file it created but did not finish, so
 * no file is left with a hole where data belongs.
 *
 * A restore lends the descriptors of files it holds (`hold`/`release`) to the jobs that write
 * them on other threads (restore-job.ts); `write` writes here. Creating a file and writing a
 * large blob run on libuv's thread pool, the other calls are synchronous.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { fail } from '../errors.js';
import { parseGoTime } from './gotime.js';
import { lookupBlob, type MasterIndex, plaintextLength } from './master-index.js';
import type { TreeNode } from './node.js';
import { unixPermOf } from './node-stat.js';
import type { PlannedFile } from './restore-plan.js';

/** Files kept open at once. */
export const MAX_OPEN = 128;

export interface FileWriterOptions {
  verify: boolean;
  /** Set owners (only root can). */
  isRoot: boolean;
  index: MasterIndex;
  onWarning?: (path: string, message: string) => void;
  /** Called once a file is written, checked, and has its metadata. */
  onFinished: (file: PlannedFile) => void;
  maxOpen?: number;
}

interface FileState {
  /** Writes still to come. */
  remaining: number;
  created: boolean;
  fd?: number;
  opening?: Promise<number>;
  /** Writes in progress: the file is not closed under them. */
  busy: number;
  /** End of the furthest byte written: when short of the size, the file is extended. */
  end: number;
}

/** Seconds for libuv's time setters, from a Go time string. */
export function toSeconds(goTime: string): number {
  const ns = parseGoTime(goTime);
  // libuv truncates to whole microseconds; aim at the middle of the microsecond so that the
  // rounding of the double (about 0.24 µs today) cannot push the time into the one before.
  return (Number(ns / 1000n) + 0.5) / 1e6;
}

/** Sets owner (as root), mode and times of a restored file through its descriptor. */
function setFileMetadata(fd: number, node: TreeNode, isRoot: boolean): void {
  if (isRoot) fs.fchownSync(fd, node.uid, node.gid);
  fs.fchmodSync(fd, unixPermOf(node.mode));
  fs.futimesSync(fd, toSeconds(node.atime), toSeconds(node.mtime));
}

const openAsync = promisify(fs.open);
const writeAsync = promisify(fs.write);

/** Blobs at least this large are written on libuv's pool, smaller ones at once. */
const ASYNC_WRITE_FROM = 128 * 1024;

async function writeAllAsync(fd: number, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await writeAsync(fd, data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

function writeAll(fd: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position + done);
}

/** Re-reads a restored file through `fd` and checks every chunk against its blob ID. */
function verifyOpenFile(fd: number, file: PlannedFile, index: MasterIndex): void {
  const where = file.path.toString('utf8');
  let pos = 0;
  for (const id of file.node.content ?? []) {
    const loc = lookupBlob(index, 'data', id);
    if (!loc) fail('NOT_FOUND', `data blob ${id} is not in the index`);
    const len = plaintextLength(loc);
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = fs.readSync(fd, buf, got, len - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== len || createHash('sha256').update(buf).digest('hex') !== id)
      fail('INTEGRITY', `verification failed: ${where} differs from the snapshot at offset ${pos}`);
    pos += len;
  }
  if (fs.fstatSync(fd).size !== pos) fail('INTEGRITY', `verification failed: ${where} has the wrong size`);
}

export class FileWriter {
  /** Files started and not finished. */
  private readonly states = new Map<PlannedFile, FileState>();
  /** Open files, least recently used first. */
  private readonly lru = new Map<PlannedFile, FileState>();
  private readonly maxOpen: number;

  constructor(private readonly opts: FileWriterOptions) {
    this.maxOpen = opts.maxOpen ?? MAX_OPEN;
  }

  private stateOf(file: PlannedFile): FileState {
    let st = this.states.get(file);
    if (!st) this.states.set(file, (st = { remaining: file.writes, created: false, busy: 0, end: 0 }));
    return st;
  }

  /**
   * Writes `data` at `offset` of `file` (with `skip` only counts it: a sparse restore's
   * all-zero chunk, the file is still created); the file's last write finishes it.
   */
  async write(file: PlannedFile, offset: number, data: Buffer, skip = false): Promise<void> {
    const st = this.stateOf(file);
    st.busy++;
    try {
      const fd = await this.acquire(file, st);
      if (!skip && data.length > 0) {
        if (data.length >= ASYNC_WRITE_FROM) await writeAllAsync(fd, data, offset);
        else writeAll(fd, data, offset);
        st.end = Math.max(st.end, offset + data.length);
      }
      if (--st.remaining <= 0) this.finish(file, st, fd);
    } finally {
      st.busy--;
    }
  }

  /**
   * The descriptor of `file` (created by the first call) for a job that writes into it on
   * another thread; the file stays open until `release`.
   */
  async hold(file: PlannedFile): Promise<number> {
    const st = this.stateOf(file);
    st.busy++;
    try {
      return await this.acquire(file, st);
    } catch (err) {
      st.busy--;
      throw err;
    }
  }

  /**
   * Ends a `hold`: when the job succeeded it made `writes` writes ending at most at `end`
   * (the file's last write finishes it); a failed job only lets the file close.
   */
  release(file: PlannedFile, done?: { writes: number; end: number }): void {
    const st = this.states.get(file);
    if (!st) return;
    st.busy--;
    if (!done) return;
    st.end = Math.max(st.end, done.end);
    st.remaining -= done.writes;
    if (st.remaining <= 0 && st.fd !== undefined) this.finish(file, st, st.fd);
  }

  /** Creates a file without content (an empty file) and finishes it. */
  async createEmpty(file: PlannedFile): Promise<void> {
    const st = this.stateOf(file);
    st.busy++;
    try {
      this.finish(file, st, await this.acquire(file, st));
    } finally {
      st.busy--;
    }
  }

  private acquire(file: PlannedFile, st: FileState): number | Promise<number> {
    if (st.fd !== undefined) {
      this.lru.delete(file);
      this.lru.set(file, st);
      return st.fd;
    }
    st.opening ??= this.open(file, st).finally(() => (st.opening = undefined));
    return st.opening;
  }

  /** Creates the file (on libuv's pool: creating takes the file system a while) or reopens it. */
  private async open(file: PlannedFile, st: FileState): Promise<number> {
    this.closeIdle();
    const access = this.opts.verify ? fs.constants.O_RDWR : fs.constants.O_WRONLY;
    const flags = st.created ? access : access | fs.constants.O_CREAT | fs.constants.O_TRUNC;
    const fd = st.created ? fs.openSync(file.path, flags, 0o600) : await openAsync(file.path, flags, 0o600);
    st.created = true;
    st.fd = fd;
    this.lru.set(file, st);
    return fd;
  }

  /** Closes files no write is using, least recently used first, until one more may open. */
  private closeIdle(): void {
    if (this.lru.size < this.maxOpen) return;
    for (const [file, st] of this.lru) {
      if (this.lru.size < this.maxOpen) return;
      if (st.busy > 0) continue;
      this.lru.delete(file);
      fs.closeSync(st.fd!);
      st.fd = undefined;
    }
  }

  private finish(file: PlannedFile, st: FileState, fd: number): void {
    if (st.end !== file.size) fs.ftruncateSync(fd, file.size);
    if (this.opts.verify) verifyOpenFile(fd, file, this.opts.index);
    try {
      setFileMetadata(fd, file.node, this.opts.isRoot);
    } catch (err) {
      this.opts.onWarning?.(file.path.toString('utf8'), `cannot set metadata: ${(err as Error).message}`);
    }
    this.lru.delete(file);
    this.states.delete(file);
    st.fd = undefined;
    fs.closeSync(fd);
    this.opts.onFinished(file);
  }

  /**
   * After a failure, once no write is in flight: closes every open file and removes the
   * files created but not finished (they may have holes where data belongs).
   */
  abort(): void {
    for (const [file, st] of this.states) {
      try {
        if (st.fd !== undefined) fs.closeSync(st.fd);
        st.fd = undefined;
        if (st.created) fs.rmSync(file.path, { force: true });
      } catch {
        // The restore fails anyway, with the error that stopped it.
      }
    }
    this.states.clear();
    this.lru.clear();
  }
}
