/** Messages between the blob pool (worker-pool.ts) and its worker threads (blob-worker.ts). */
import type { ErrorCode } from '../errors.js';
import type { BatchSlice, SealedBatch } from './blob-batch.js';
import type { BlobOrigin, SealedInto } from './blob-codec.js';
import type { MasterKey } from './crypto.js';
import type { PackedBlob } from './pack.js';
import type { PackVerdict } from './pack-verify.js';
import type { JobOutcome, SpanJob } from './restore-job.js';
import type { StageTotals } from './profile.js';

/**
 * The master key as jobs carry it: base64 of encrypt || macK || macR. A string, because
 * cloning a typed array in every message cost several times the message itself (measured:
 * 90 µs against 15 µs per round trip); each worker decodes a key once and keeps it.
 */
export type WorkerKey = string;

export function workerKeyOf(key: MasterKey): WorkerKey {
  return Buffer.concat([key.encrypt, key.macK, key.macR]).toString('base64');
}

/** A job without its sequence number, as the pool's callers give it. */
export type WorkerJob =
  | { op: 'hash'; data: Uint8Array }
  /** The chunker's candidate cuts in `data`, a view of shared memory (chunker.ts cutCandidates). */
  | { op: 'scan'; pol: string; data: Uint8Array; context: Uint8Array }
  /** A blob's ID from `parts`, views of shared memory (block-pool.ts). */
  | { op: 'hashParts'; parts: readonly Uint8Array[] }
  /**
   * Seals the blob made of `parts` (views of shared memory, or one buffer moved with the job)
   * into `out`, a view of shared memory (repository.ts's seal ring).
   */
  | { op: 'sealInto'; key: WorkerKey; parts: readonly Uint8Array[]; compress: boolean; out: Uint8Array }
  /** Seals `blobs` of `data` into `out` (blob-batch.ts); both are views of shared memory. */
  | {
      op: 'sealBatch';
      key: WorkerKey;
      data: Uint8Array;
      out: Uint8Array;
      blobs: BatchSlice[];
      compress: boolean;
    }
  | { op: 'open'; key: WorkerKey; data: Uint8Array; loc: BlobOrigin }
  /** Restores the blobs of a range of a pack (restore-job.ts); `data` is that range. */
  | { op: 'restoreSpan'; key: WorkerKey; data: Uint8Array; job: SpanJob }
  /** restoreSpan of `length` bytes at `offset` of the local pack file `path`, read by the worker. */
  | { op: 'restoreSpanFile'; key: WorkerKey; path: string; offset: number; length: number; job: SpanJob }
  | { op: 'verifyPack'; key: WorkerKey; data: Uint8Array; id: string; blobs: PackedBlob[] }
  /** verifyPack of the local file `path`, which the worker reads itself; `size`: bytes read. */
  | { op: 'verifyPackFile'; key: WorkerKey; path: string; id: string; blobs: PackedBlob[] }
  /** Only the blobs (offsets relative to `data`, a piece of pack `id`): no pack hash, no header. */
  | { op: 'verifyBlobs'; key: WorkerKey; data: Uint8Array; id: string; blobs: PackedBlob[] };

export type WorkerRequest = WorkerJob & { seq: number };

export type WorkerResult =
  | { id: string; data: Uint8Array }
  | { id: string }
  | { candidates: number[] | null }
  | SealedInto
  | SealedBatch
  | { plain: Uint8Array }
  | { outcome: JobOutcome }
  /** restoreSpanFile could not read its range (the caller reads it through the backend). */
  | { unread: string }
  | { verdict: PackVerdict; size?: number };

export type WorkerResponse = { seq: number; profile?: StageTotals } & (
  ({ ok: true } & WorkerResult) | { ok: false; code?: ErrorCode; message: string }
);
