/**
 * Worker-thread entry of the blob pool (worker-pool.ts): runs blob-codec and pack-verify
 * jobs and posts each result back, handing buffers over instead of copying them. Errors go
 * back as their code and message; the pool turns them into the same HoldfastError.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { isHoldfastError } from '../errors.js';
import { sealBatch } from './blob-batch.js';
import { blobId, openBlob, sealBlobInto } from './blob-codec.js';
import type { MasterKey } from './crypto.js';
import { collectGarbageEvery } from './gc-hint.js';
import type { PackedBlob } from './pack.js';
import { verifyPackInPieces } from './pack-pieces.js';
import { type PackVerdict, verifyBlobs, verifyPack } from './pack-verify.js';
import { scanCandidates } from './chunker-wasm.js';
import { drainTotals, profiled, profiling } from './profile.js';
import { runSpanJob } from './restore-job.js';
import type { WorkerKey, WorkerRequest, WorkerResponse } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('blob-worker.ts runs only as a worker thread');

/** Test hook: HOLDFAST_TEST_WORKER_FAULT=throw fails every seal, =exit kills the thread on one. */
const fault = process.env.HOLDFAST_TEST_WORKER_FAULT;
const turnover = collectGarbageEvery(4 * 1024 * 1024);
/**
 * After every restore job a young-generation collection (under a millisecond here): the range
 * it was handed and its windows are freed at once and their memory reused by the next job
 * (measured: about 30 MiB less peak RSS).
 */
const afterRestoreJob = collectGarbageEvery(1);

function injectFault(): void {
  if (fault === 'exit') process.exit(3);
  if (fault === 'throw') throw new Error('injected worker fault');
}

const keys = new Map<WorkerKey, MasterKey>();

function keyOf(encoded: WorkerKey): MasterKey {
  let key = keys.get(encoded);
  if (!key) {
    const b = Buffer.from(encoded, 'base64');
    key = { encrypt: b.subarray(0, 32), macK: b.subarray(32, 48), macR: b.subarray(48, 64) };
    keys.set(encoded, key);
  }
  return key;
}

/** `b` as a view of an ArrayBuffer it owns entirely (copied when it shares one, e.g. the pool). */
function owned(b: Buffer): Uint8Array {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return b;
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

/**
 * Where pack ranges are read: pieces of a pack being checked, spans being restored, a pack
 * read whole (reused: fresh memory costs a page fault per 4 KiB). Made large enough at once
 * for any pack holdfast or restic writes (16 MiB, plus a last blob of up to 8 MiB, plus the
 * header): a buffer regrown step by step left the old ones allocated until a collection.
 * Pages are only touched, and counted in RSS, as far as reads fill them.
 */
const PACK_BUFFER_BYTES = 32 * 1024 * 1024;
let packBuffer = Buffer.alloc(0);

/**
 * `length` bytes at `offset` of the open file `fd` (named `path`), read into packBuffer:
 * valid until the next read. A file shorter than asked is an error.
 */
function readRange(fd: number, path: string, offset: number, length: number): Buffer {
  if (packBuffer.length < length) packBuffer = Buffer.allocUnsafeSlow(Math.max(length, PACK_BUFFER_BYTES));
  let got = 0;
  while (got < length) {
    const n = profiled('read', length - got, () => readSync(fd, packBuffer, got, length - got, offset + got));
    if (n === 0) throw new Error(`${path}: short read (${got} of ${length} bytes)`);
    got += n;
  }
  return packBuffer.subarray(0, length);
}

/** readRange of a local file, opened for this read. */
function readLocal(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    return readRange(fd, path, offset, length);
  } finally {
    closeSync(fd);
  }
}

/** verifyPack of a local pack file, read in pieces where its layout allows (pack-pieces.ts). */
function verifyPackFile(
  key: MasterKey,
  path: string,
  id: string,
  blobs: PackedBlob[],
): { verdict: PackVerdict; size: number } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const read = (offset: number, length: number) => readRange(fd, path, offset, length);
    const verdict =
      verifyPackInPieces(key, id, size, blobs, read) ?? verifyPack(key, id, read(0, size), blobs);
    return { verdict, size };
  } finally {
    closeSync(fd);
  }
}

function handle(req: WorkerRequest): { res: WorkerResponse; transfer: ArrayBuffer[] } {
  const seq = req.seq;
  switch (req.op) {
    case 'hash':
      return { res: { seq, ok: true, id: blobId(req.data), data: req.data }, transfer: [] };
    case 'scan': {
      const found = profiled('chunk', req.data.length, () =>
        scanCandidates(BigInt(req.pol), req.data, req.context),
      );
      return { res: { seq, ok: true, candidates: found ?? null }, transfer: [] };
    }
    case 'hashParts':
      return { res: { seq, ok: true, id: blobId(req.parts) }, transfer: [] };
    case 'sealInto': {
      injectFault();
      const r = sealBlobInto(keyOf(req.key), req.parts, req.compress, req.out);
      return { res: { seq, ok: true, ...r }, transfer: [] };
    }
    case 'sealBatch': {
      injectFault();
      const r = sealBatch(keyOf(req.key), req.data, req.blobs, req.compress, req.out);
      return { res: { seq, ok: true, ...r }, transfer: [] };
    }
    case 'open': {
      const out = owned(openBlob(keyOf(req.key), req.loc, req.data));
      return { res: { seq, ok: true, plain: out }, transfer: [out.buffer as ArrayBuffer] };
    }
    case 'restoreSpan': {
      const span = Buffer.from(req.data.buffer, req.data.byteOffset, req.data.length);
      return { res: { seq, ok: true, outcome: runSpanJob(keyOf(req.key), span, req.job) }, transfer: [] };
    }
    case 'restoreSpanFile': {
      let span: Buffer;
      try {
        span = readLocal(req.path, req.offset, req.length);
      } catch (err) {
        // The caller reads it again through the backend, which words the error.
        return { res: { seq, ok: true, unread: (err as Error).message }, transfer: [] };
      }
      return { res: { seq, ok: true, outcome: runSpanJob(keyOf(req.key), span, req.job) }, transfer: [] };
    }
    case 'verifyBlobs': {
      const piece = Buffer.from(req.data.buffer, req.data.byteOffset, req.data.length);
      return {
        res: { seq, ok: true, verdict: verifyBlobs(keyOf(req.key), req.id, piece, req.blobs) },
        transfer: [],
      };
    }
    case 'verifyPackFile':
      return {
        res: { seq, ok: true, ...verifyPackFile(keyOf(req.key), req.path, req.id, req.blobs) },
        transfer: [],
      };
    case 'verifyPack':
      return {
        res: { seq, ok: true, verdict: verifyPack(keyOf(req.key), req.id, req.data, req.blobs) },
        transfer: [],
      };
  }
}

/**
 * Bytes a job passed through short-lived buffers (the cipher's 64 KiB windows, opened copies):
 * counted towards the next young-generation collection. Hashing and scanning make none.
 */
function garbageOf(req: WorkerRequest): number {
  switch (req.op) {
    case 'hash':
    case 'scan':
    case 'hashParts':
      return 0;
    case 'verifyPack':
    case 'verifyPackFile':
    case 'verifyBlobs':
      return 0; // pack-verify.ts counts its own
    case 'sealInto':
      return req.parts.reduce((n, p) => n + p.length, 0);
    default:
      return 'data' in req ? req.data.length : 0;
  }
}

port.on('message', (req: WorkerRequest) => {
  let out: { res: WorkerResponse; transfer: ArrayBuffer[] };
  try {
    out = handle(req);
  } catch (err) {
    out = {
      res: {
        seq: req.seq,
        ok: false,
        code: isHoldfastError(err) ? err.code : undefined,
        message: err instanceof Error ? err.message : String(err),
      },
      transfer: [],
    };
  }
  if (profiling) out.res.profile = drainTotals();
  // 'hash' hands the plaintext back so the next step can use it without a copy.
  if (out.res.ok && 'data' in out.res) out.transfer.push(out.res.data.buffer as ArrayBuffer);
  port.postMessage(out.res, out.transfer);
  if (req.op === 'restoreSpan' || req.op === 'restoreSpanFile') afterRestoreJob(1);
  else turnover(garbageOf(req));
});
