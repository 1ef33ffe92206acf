/**
 * A pack being filled, kept in a temporary file instead of memory (as restic does): sealed
 * blobs are appended through a small staging buffer (two of them, so one can be written while
 * the other fills), and hashed in file order as they are written, so the pack's ID (the
 * SHA-256 of its bytes) is known when it is sealed. A backend that can copy a file
 * (Backend.saveFile) then stores the pack straight from the temporary file, which the kernel
 * copies without the bytes passing through this process; for the others the pack is read
 * back into a buffer of its own (fresh memory: a page fault per 4 KiB, on libuv's threads),
 * not reused, since a save that timed out may still be reading it.
 *
 * The file has no name (or loses it as soon as it is opened), so a crash or a failed backup
 * leaves nothing behind in the temporary directory (TMPDIR, else /tmp).
 */
import { constants as fsc, existsSync, promises as fsp } from 'node:fs';
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HoldfastError } from '../errors.js';
import type { PackedBlob } from './pack.js';
import { profiled } from './profile.js';

/**
 * Bytes gathered before a write. An append waits while both staging buffers are full, so
 * sealing cannot outrun a slow disk and pile blobs up in memory.
 */
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
  /** SHA-256 of the bytes queued for writing so far, in file order. */
  readonly hash: Hash;
}

/** A spool whose bytes are all written: its pack's ID and where to read the pack. */
export interface SealedSpool {
  /** SHA-256 of the pack, in hex: its name. */
  readonly id: string;
  readonly length: number;
  /**
   * A path that opens the temporary file (Linux: /proc/self/fd/N, which works for a file
   * without a name); undefined where the system has none. Valid until close().
   */
  readonly path: string | undefined;
  /** Reads the whole pack into a buffer of its own. */
  read(): Promise<Buffer>;
  /** Closes the file, which is then gone. */
  close(): Promise<void>;
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

/**
 * Staging buffers of finished spools, for the next ones: a fresh pair per pack stayed
 * allocated until a full collection (measured: tens of MB of a large backup's peak RSS).
 */
const freeStages: Buffer[] = [];
const STAGES_KEPT = 4;
const EMPTY = Buffer.alloc(0);

function takeStage(): Buffer {
  return freeStages.pop() ?? Buffer.allocUnsafeSlow(STAGE_SIZE);
}

/** Gives a spool's staging buffers back once nothing is left to write from them. */
function giveStages(sp: PackSpool): void {
  for (const b of [sp.stage, sp.spare])
    if (b.length === STAGE_SIZE && freeStages.length < STAGES_KEPT) freeStages.push(b);
  sp.stage = sp.spare = EMPTY;
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
    stage: takeStage(),
    spare: takeStage(),
    staged: 0,
    written: Promise.resolve(),
    hash: createHash('sha256'),
  };
}

/** Queues a write of `bytes` at `at`, which is always the end of what was queued before. */
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
  sp.written.catch(() => undefined); // observed by the next append or by sealSpool
  // Hashed as queued: writes are queued in file order, and the bytes do not change until written.
  profiled('hash pack', bytes.length, () => sp.hash.update(bytes));
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

/** /proc/self/fd/N opens the file behind descriptor N, even one without a name (Linux). */
let procFds: boolean | undefined;
function fdPath(fd: number): string | undefined {
  procFds ??= process.platform === 'linux' && existsSync('/proc/self/fd');
  return procFds ? `/proc/self/fd/${fd}` : undefined;
}

/**
 * Writes what is staged and waits for every write; the pack's ID comes from the running hash,
 * without reading anything back. On failure the file is closed before the error is thrown;
 * otherwise the caller closes the sealed spool once the pack is stored (or not).
 */
export async function sealSpool(sp: PackSpool): Promise<SealedSpool> {
  try {
    await flushStage(sp);
    await sp.written;
  } catch (err) {
    await sp.written.catch(() => undefined);
    giveStages(sp);
    await sp.file.close().catch(() => undefined);
    throw err;
  }
  giveStages(sp);
  const { file, size } = sp;
  return {
    id: sp.hash.digest('hex'),
    length: size,
    path: fdPath(file.fd),
    read: async () => {
      const buf = Buffer.allocUnsafeSlow(size);
      let got = 0;
      try {
        while (got < size) {
          const { bytesRead } = await file.read(buf, got, size - got, got);
          if (bytesRead === 0) throw new Error(`short read at ${got} of ${size} bytes`);
          got += bytesRead;
        }
      } catch (err) {
        throw spoolError(err);
      }
      return buf;
    },
    close: () => file.close().catch(() => undefined),
  };
}

/** Closes a spool that will not be finished (its file is already unlinked). */
export async function discardSpool(sp: PackSpool): Promise<void> {
  await sp.written.catch(() => undefined);
  giveStages(sp);
  await sp.file.close().catch(() => undefined);
}
