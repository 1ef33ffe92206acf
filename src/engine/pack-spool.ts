/**
 * A pack being filled, kept in a temporary file instead of memory (as restic does): sealed
 * blobs are appended through a small staging buffer (two of them, so one can be written while
 * the other fills) and the finished pack is read back for its upload. Memory stays flat while
 * packs fill, and the main thread no longer copies every blob into a fresh pack-sized buffer
 * (fresh memory costs a page fault per 4 KiB here; the read back faults on libuv's threads).
 * The upload buffer is not reused: a save that timed out may still be reading it.
 *
 * The file has no name (or loses it as soon as it is opened), so a crash or a failed backup
 * leaves nothing behind in the temporary directory (TMPDIR, else /tmp).
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HoldfastError } from '../errors.js';
import type { PackedBlob } from './pack.js';

/** Bytes gathered before a write; blobs at least half this size are written directly. */
const STAGE_SIZE = 1024 * 1024;

export interface PackSpool {
  readonly file: fsp.FileHandle;
  readonly blobs: PackedBlob[];
  /** Bytes appended so far (blobs, then header and its length). */
  size: number;
  stage: Buffer;
  spare: Buffer;
  staged: number;
  /** The last write queued; writes happen in order. */
  written: Promise<void>;
}

function spoolError(err: unknown): HoldfastError {
  const e = err as NodeJS.ErrnoException;
  const hint = e.code === 'ENOSPC' ? ' (the disk holding TMPDIR is full: free space or set TMPDIR)' : '';
  return new HoldfastError('IO', `cannot write a temporary pack file in ${tmpdir()}: ${e.message}${hint}`, {
    cause: err,
  });
}

/** Linux's O_TMPFILE (with O_DIRECTORY): a file with no name, not exported by node:fs. */
const O_TMPFILE = 0o20200000;

/**
 * An unnamed temporary file where the system has them (Linux): creating it does not touch the
 * directory, whose times a backup of that directory would otherwise see change. Elsewhere a
 * named file, unlinked at once.
 */
async function openTempFile(): Promise<fsp.FileHandle> {
  if (process.platform === 'linux') {
    try {
      return await fsp.open(tmpdir(), O_TMPFILE | fsc.O_RDWR, 0o600);
    } catch {
      // not supported by this filesystem: fall back to a named file
    }
  }
  const p = path.join(tmpdir(), `holdfast-pack-${randomBytes(8).toString('hex')}.tmp`);
  const file = await fsp.open(p, 'wx+', 0o600);
  await fsp.unlink(p).catch(async (err: unknown) => {
    await file.close();
    throw err;
  });
  return file;
}

export async function openSpool(): Promise<PackSpool> {
  let file: fsp.FileHandle;
  try {
    file = await openTempFile();
  } catch (err) {
    throw spoolError(err);
  }
  return {
    file,
    blobs: [],
    size: 0,
    stage: Buffer.allocUnsafeSlow(STAGE_SIZE),
    spare: Buffer.allocUnsafeSlow(STAGE_SIZE),
    staged: 0,
    written: Promise.resolve(),
  };
}

function queueWrite(sp: PackSpool, bytes: Uint8Array, at: number): void {
  const prev = sp.written;
  sp.written = (async () => {
    await prev;
    let done = 0;
    try {
      while (done < bytes.length) {
        const { bytesWritten } = await sp.file.write(bytes, done, bytes.length - done, at + done);
        done += bytesWritten;
      }
    } catch (err) {
      throw spoolError(err);
    }
  })();
  sp.written.catch(() => undefined); // observed by the next append or by finishSpool
}

/** Starts writing the staged bytes; the other staging buffer takes over once it is free. */
async function flushStage(sp: PackSpool): Promise<void> {
  if (sp.staged === 0) return;
  await sp.written; // the spare buffer's write has finished
  const full = sp.stage;
  queueWrite(sp, full.subarray(0, sp.staged), sp.size - sp.staged);
  sp.stage = sp.spare;
  sp.spare = full;
  sp.staged = 0;
}

/** Appends `bytes` (which must not change until the pack is finished) at the end of the pack. */
export async function appendToSpool(sp: PackSpool, bytes: Uint8Array): Promise<void> {
  if (bytes.length >= STAGE_SIZE / 2) {
    await flushStage(sp);
    queueWrite(sp, bytes, sp.size);
    sp.size += bytes.length;
    return;
  }
  if (sp.staged + bytes.length > STAGE_SIZE) await flushStage(sp);
  sp.stage.set(bytes, sp.staged);
  sp.staged += bytes.length;
  sp.size += bytes.length;
}

/** Appends a copy of `bytes` (which the caller may reuse once this resolves) through the staging buffers. */
export async function copyToSpool(sp: PackSpool, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    if (sp.staged === STAGE_SIZE) await flushStage(sp);
    const n = Math.min(bytes.length - done, STAGE_SIZE - sp.staged);
    sp.stage.set(bytes.subarray(done, done + n), sp.staged);
    sp.staged += n;
    sp.size += n;
    done += n;
  }
}

/** Writes what is staged, reads the whole pack back into a buffer of its own and closes the file. */
export async function finishSpool(sp: PackSpool): Promise<Buffer> {
  try {
    await flushStage(sp);
    await sp.written;
    const buf = Buffer.allocUnsafeSlow(sp.size);
    let got = 0;
    try {
      while (got < sp.size) {
        const { bytesRead } = await sp.file.read(buf, got, sp.size - got, got);
        if (bytesRead === 0) throw new Error(`short read at ${got} of ${sp.size} bytes`);
        got += bytesRead;
      }
    } catch (err) {
      throw spoolError(err);
    }
    return buf;
  } finally {
    await sp.file.close().catch(() => undefined);
  }
}

/** Closes a spool that will not be finished (its file is already unlinked). */
export async function discardSpool(sp: PackSpool): Promise<void> {
  await sp.written.catch(() => undefined);
  await sp.file.close().catch(() => undefined);
}
