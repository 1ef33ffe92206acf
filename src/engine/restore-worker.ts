/**
 * Restore thread entry (restore-threads.ts): runs span jobs (restore-job.ts) on the range of
 * a pack the main thread read and handed over, and posts back what was placed and finished.
 * Errors go back as their code and message; a failed job has removed its unfinished files.
 */
import { parentPort } from 'node:worker_threads';
import { isHoldfastError } from '../errors.js';
import type { MasterKey } from './crypto.js';
import { collectGarbageEvery } from './gc-hint.js';
import { drainTotals, profiling } from './profile.js';
import { runSpanJob } from './restore-job.js';
import type { RestoreRequest, RestoreResponse } from './restore-threads.js';

const port = parentPort;
if (!port) throw new Error('restore-worker.ts runs only as a worker thread');

/**
 * A young-generation collection after every job (under a millisecond here): the range the job
 * was handed and its decryption windows are then freed at once, and their memory is reused
 * by the next job instead of growing the process (measured: about 30 MiB less peak RSS).
 */
const turnover = collectGarbageEvery(1);
const keys = new Map<string, MasterKey>();

function keyOf(encoded: string): MasterKey {
  let key = keys.get(encoded);
  if (!key) {
    const b = Buffer.from(encoded, 'base64');
    key = { encrypt: b.subarray(0, 32), macK: b.subarray(32, 48), macR: b.subarray(48, 64) };
    keys.set(encoded, key);
  }
  return key;
}

port.on('message', (req: RestoreRequest) => {
  let res: RestoreResponse;
  try {
    const span = Buffer.from(req.span.buffer, req.span.byteOffset, req.span.byteLength);
    res = { seq: req.seq, ok: true, outcome: runSpanJob(keyOf(req.key), span, req.job) };
  } catch (err) {
    res = {
      seq: req.seq,
      ok: false,
      code: isHoldfastError(err) ? err.code : undefined,
      message: err instanceof Error ? err.message : String(err),
    };
  }
  if (profiling) res.profile = drainTotals();
  port.postMessage(res);
  turnover(req.span.byteLength);
});
