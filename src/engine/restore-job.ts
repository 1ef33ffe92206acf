/**
 * One piece of a restore, run on a blob worker thread (blob-worker.ts) or inline: a range of a
 * pack holding whole blobs, each opened a window at a time (MAC checked over the whole blob
 * first, then decrypted and, when compressed, decompressed as a stream) and written, piece by
 * piece, at every place it goes; its ID is checked at its end. A place is an open descriptor (a file the main thread
 * manages because its blobs lie in several ranges) or a file the job owns from start to
 * finish, all of whose blobs lie in this range: the job creates it, writes it, sets its size,
 * owner, mode and times, and closes it, so the many small files of a restore cost the main
 * thread nothing. A failed job removes the files it created and did not finish.
 *
 * Fresh memory costs a page fault every 4 KiB on the machines measured (10–30 µs each), so
 * nothing here allocates anything blob-sized: only 64 KiB decryption windows.
 */
import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import binding from 'zstd-napi/binding.js';
import { fail } from '../errors.js';
import { type MasterKey, polyKeyOf, SEAL_OVERHEAD } from './crypto.js';
import { poly1305 } from './poly1305.js';
import { profiled } from './profile.js';
import { toSeconds } from './restore-files.js';

/** A file the job creates and finishes. */
export interface OwnedFile {
  path: Uint8Array;
  size: number;
  /** Permission bits (unix). */
  perm: number;
  /** Owner, set only when `chown`. */
  uid: number;
  gid: number;
  chown: boolean;
  atime: string;
  mtime: string;
}

/** Where a blob's plaintext goes: target index into the job's targets, and file offset. */
export interface JobBlob {
  id: string;
  packId: string;
  /** Plaintext length when compressed, else 0. */
  uncompressedLength: number;
  /** Start in the range, and stored length. */
  at: number;
  length: number;
  /** Pairs: target index, file offset. */
  writes: number[];
}

/** A target: an open descriptor (managed by the main thread) or a file owned by the job. */
export type JobTarget = { fd: number } | { file: OwnedFile };

export interface SpanJob {
  sparse: boolean;
  blobs: JobBlob[];
  targets: JobTarget[];
}

export interface JobOutcome {
  /** Plaintext bytes placed (a blob counts once per place, written or left as a hole). */
  bytes: number;
  /** Indices of the owned targets finished. */
  finished: number[];
  warnings: [path: string, message: string][];
}

/** Ciphertext decrypted at a time, and decompressed output produced at a time. */
const WINDOW = 64 * 1024;
const OUT_WINDOW = 128 * 1024;
const ZEROS = Buffer.alloc(OUT_WINDOW);

function isZero(buf: Buffer): boolean {
  return buf.length <= ZEROS.length && buf.equals(ZEROS.subarray(0, buf.length));
}

/** Where each blob's Poly1305 key is derived (polyKeyOf keeps one AES cipher per key). */
const polyKey = Buffer.alloc(32);

/** This thread's decompression context and output window, reused for every blob. */
let dctx: InstanceType<typeof binding.DCtx> | undefined;
const outWindow = Buffer.allocUnsafeSlow(OUT_WINDOW);

/**
 * Opens a sealed blob a window at a time, handing each piece of plaintext to `place` with
 * its position in the blob (the piece is valid only during the call), and checks the whole
 * against the blob's ID at the end. A damaged blob is an INTEGRITY error worded as openBlob
 * words it; its MAC is checked before any piece is placed, a wrong ID only after (the caller
 * then removes what was placed).
 */
export function openBlobStreaming(
  key: MasterKey,
  blob: JobBlob,
  sealed: Buffer,
  place: (piece: Buffer, pos: number) => void,
): void {
  const what = `damaged data blob ${blob.id} in pack ${blob.packId}`;
  const ctLen = sealed.length - SEAL_OVERHEAD;
  if (ctLen < 0) fail('INTEGRITY', `${what}: ciphertext too short (${sealed.length} bytes)`);
  const iv = sealed.subarray(0, 16);
  if (!iv.some((b) => b !== 0)) fail('INTEGRITY', `${what}: invalid all-zero nonce`);
  const ct = sealed.subarray(16, 16 + ctLen);
  profiled('mac', ctLen, () => {
    const mac = poly1305(ct, polyKeyOf(key, iv, undefined, polyKey));
    if (!timingSafeEqual(mac, sealed.subarray(16 + ctLen)))
      fail('INTEGRITY', `${what}: ciphertext verification failed`);
  });
  const decipher = createDecipheriv('aes-256-ctr', key.encrypt, iv);
  const hash = createHash('sha256');
  const compressed = blob.uncompressedLength > 0;
  if (compressed) {
    dctx ??= new binding.DCtx();
    dctx.reset(binding.ResetDirective.sessionOnly);
  }
  let pos = 0;
  let frameLeft = 0;
  const emit = (piece: Buffer) => {
    if (compressed && pos + piece.length > blob.uncompressedLength)
      fail('INTEGRITY', `${what}: content does not match its ID`);
    profiled('hash', piece.length, () => hash.update(piece));
    profiled('write', piece.length, () => place(piece, pos));
    pos += piece.length;
  };
  for (let at = 0; at < ctLen; at += WINDOW) {
    const piece = profiled('decrypt', Math.min(WINDOW, ctLen - at), () =>
      decipher.update(ct.subarray(at, at + WINDOW)),
    );
    if (!compressed) {
      emit(piece);
      continue;
    }
    let input: Buffer = piece;
    for (;;) {
      let left: number;
      let written: number;
      let read: number;
      try {
        [left, written, read] = profiled('decompress', 0, () => dctx!.decompressStream(outWindow, input));
      } catch (err) {
        return fail('INTEGRITY', `${what}: cannot decompress (${(err as Error).message})`, err);
      }
      // A call that did nothing (no input left, all flushed) reports on a next frame: ignore it.
      if (read > 0 || written > 0) frameLeft = left;
      input = input.subarray(read);
      if (written > 0) emit(outWindow.subarray(0, written));
      // A full window may leave more output waiting in the context.
      if (input.length === 0 && written < outWindow.length) break;
    }
  }
  if (compressed && (frameLeft !== 0 || pos !== blob.uncompressedLength))
    fail('INTEGRITY', `${what}: cannot decompress (the frame is cut short)`);
  if (hash.digest('hex') !== blob.id) fail('INTEGRITY', `${what}: content does not match its ID`);
}

function writeAll(fd: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position + done);
}

/** An owned file while the job writes it. */
interface OwnedState {
  fd: number;
  /** Writes still to come. */
  remaining: number;
  end: number;
}

function pathOf(file: OwnedFile): Buffer {
  return Buffer.from(file.path.buffer, file.path.byteOffset, file.path.byteLength);
}

/** Size, owner, mode and times of a finished owned file, then closes it. */
function finishOwned(file: OwnedFile, st: OwnedState, out: JobOutcome): void {
  if (st.end !== file.size) fs.ftruncateSync(st.fd, file.size);
  try {
    if (file.chown) fs.fchownSync(st.fd, file.uid, file.gid);
    fs.fchmodSync(st.fd, file.perm);
    fs.futimesSync(st.fd, toSeconds(file.atime), toSeconds(file.mtime));
  } catch (err) {
    out.warnings.push([pathOf(file).toString('utf8'), `cannot set metadata: ${(err as Error).message}`]);
  }
  const fd = st.fd;
  st.fd = -1;
  fs.closeSync(fd);
}

/**
 * Runs a job over `span` (the range, holding every blob at its `at`). Throws the first failure
 * after closing and removing the owned files it created and did not finish.
 */
export function runSpanJob(key: MasterKey, span: Buffer, job: SpanJob): JobOutcome {
  const out: JobOutcome = { bytes: 0, finished: [], warnings: [] };
  const owned = new Map<number, OwnedState>();
  const writesOf = new Map<number, number>();
  for (const b of job.blobs)
    for (let i = 0; i < b.writes.length; i += 2)
      writesOf.set(b.writes[i], (writesOf.get(b.writes[i]) ?? 0) + 1);
  try {
    for (const b of job.blobs) {
      const fds: number[] = [];
      const states: (OwnedState | undefined)[] = [];
      for (let i = 0; i < b.writes.length; i += 2) {
        const t = job.targets[b.writes[i]];
        if ('fd' in t) {
          fds.push(t.fd);
          states.push(undefined);
          continue;
        }
        let st = owned.get(b.writes[i]);
        if (!st) {
          const fd = fs.openSync(pathOf(t.file), 'w', 0o600);
          owned.set(b.writes[i], (st = { fd, remaining: writesOf.get(b.writes[i]) ?? 0, end: 0 }));
        }
        fds.push(st.fd);
        states.push(st);
      }
      let length = 0;
      openBlobStreaming(key, b, span.subarray(b.at, b.at + b.length), (piece, pos) => {
        length = pos + piece.length;
        if (job.sparse && isZero(piece)) return;
        for (let k = 0; k < fds.length; k++) {
          const at = b.writes[2 * k + 1] + pos;
          writeAll(fds[k], piece, at);
          const st = states[k];
          if (st) st.end = Math.max(st.end, at + piece.length);
        }
      });
      for (let k = 0; k < fds.length; k++) {
        out.bytes += length;
        const st = states[k];
        if (st && --st.remaining === 0) {
          const i = b.writes[2 * k];
          finishOwned((job.targets[i] as { file: OwnedFile }).file, st, out);
          out.finished.push(i);
        }
      }
    }
  } catch (err) {
    for (const [i, st] of owned) {
      if (st.fd < 0) continue;
      try {
        fs.closeSync(st.fd);
        fs.rmSync(pathOf((job.targets[i] as { file: OwnedFile }).file), { force: true });
      } catch {
        // The job fails anyway, with the error that stopped it.
      }
    }
    throw err;
  }
  return out;
}
