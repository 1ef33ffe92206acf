/**
 * Worker-thread entry of the blob pool (worker-pool.ts): runs blob-codec and pack-verify
 * jobs and posts each result back, handing buffers over instead of copying them. Errors go
 * back as their code and message; the pool turns them into the same HoldfastError.
 */
import { parentPort } from 'node:worker_threads';
import { isHoldfastError } from '../errors.js';
import { sealBatch } from './blob-batch.js';
import { blobId, openBlob, sealBlob } from './blob-codec.js';
import type { MasterKey } from './crypto.js';
import { collectGarbageEvery } from './gc-hint.js';
import { verifyBlobs, verifyPack } from './pack-verify.js';
import { scanCandidates } from './chunker-wasm.js';
import { drainTotals, profiled, profiling } from './profile.js';
import type { WorkerKey, WorkerRequest, WorkerResponse } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('blob-worker.ts runs only as a worker thread');

/** Test hook: HOLDFAST_TEST_WORKER_FAULT=throw fails every seal, =exit kills the thread on one. */
const fault = process.env.HOLDFAST_TEST_WORKER_FAULT;
const turnover = collectGarbageEvery(16 * 1024 * 1024);

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

function handle(req: WorkerRequest): { res: WorkerResponse; transfer: ArrayBuffer[] } {
  const seq = req.seq;
  switch (req.op) {
    case 'hash':
      return { res: { seq, ok: true, id: blobId(req.data), data: req.data }, transfer: [] };
    case 'seal': {
      injectFault();
      const { iv, ciphertext, mac, uncompressedLength } = sealBlob(keyOf(req.key), req.data, req.compress);
      const ct = owned(ciphertext);
      // The IV and MAC are views of larger buffers: copied, so a message clones 16 bytes each.
      return {
        res: {
          seq,
          ok: true,
          iv: new Uint8Array(iv),
          ciphertext: ct,
          mac: new Uint8Array(mac),
          uncompressedLength,
        },
        transfer: [ct.buffer as ArrayBuffer],
      };
    }
    case 'scan': {
      const found = profiled('chunk', req.data.length, () =>
        scanCandidates(BigInt(req.pol), req.data, req.context),
      );
      return { res: { seq, ok: true, candidates: found ?? null, data: req.data }, transfer: [] };
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
    case 'openMany': {
      const key = keyOf(req.key);
      const span = Buffer.from(req.data.buffer, req.data.byteOffset, req.data.length);
      const plains = req.blobs.map((b) => owned(openBlob(key, b, span.subarray(b.at, b.at + b.length))));
      return { res: { seq, ok: true, plains }, transfer: plains.map((p) => p.buffer as ArrayBuffer) };
    }
    case 'verifyBlobs': {
      const piece = Buffer.from(req.data.buffer, req.data.byteOffset, req.data.length);
      return {
        res: { seq, ok: true, verdict: verifyBlobs(keyOf(req.key), req.id, piece, req.blobs) },
        transfer: [],
      };
    }
    case 'verifyPack':
      return {
        res: { seq, ok: true, verdict: verifyPack(keyOf(req.key), req.id, req.data, req.blobs) },
        transfer: [],
      };
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
  // 'hash' and 'scan' hand the plaintext back so the next step can use it without a copy.
  if (out.res.ok && 'data' in out.res) out.transfer.push(out.res.data.buffer as ArrayBuffer);
  port.postMessage(out.res, out.transfer);
  turnover(req.op === 'hash' || req.op === 'scan' ? 0 : 'data' in req ? req.data.length : 0);
});
