/**
 * Verifies one whole pack's bytes (check --read-data): the pack hashes to its name, its
 * header decrypts and lists exactly the indexed blobs, and every blob opens and hashes to its
 * ID. Pure, so it runs inline or in a worker thread. The three checks are also exported on
 * their own so that check-read.ts can verify a pack piece by piece (it hashes the pack and
 * checks the header itself, and has the blobs of each piece verified as a "piece job") with
 * exactly the same findings.
 */
import { createHash } from 'node:crypto';
import { openBlob } from './blob-codec.js';
import { blobIsIntact } from './check-verify.js';
import { open, type MasterKey } from './crypto.js';
import { collectGarbageEvery } from './gc-hint.js';
import { decodeHeader, type PackedBlob } from './pack.js';
import { profiled } from './profile.js';

export interface PackProblem {
  kind: 'pack' | 'blob';
  id: string;
  message: string;
}

export interface PackVerdict {
  problems: PackProblem[];
  /** Indexes (into the given blob list) of the blobs that failed. */
  bad: number[];
}

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Verifying leaves dead buffers behind (the bytes given, decrypted windows); collecting them
 * often lets the allocator reuse their pages instead of faulting in fresh ones.
 */
const turnover = collectGarbageEvery(4 * 1024 * 1024);

/** A total order on every field of a blob entry (so equal lists sort identically). */
function byAllFields(x: PackedBlob, y: PackedBlob): number {
  return (
    x.offset - y.offset ||
    x.length - y.length ||
    x.uncompressedLength - y.uncompressedLength ||
    (x.type < y.type ? -1 : x.type > y.type ? 1 : 0) ||
    (x.id < y.id ? -1 : x.id > y.id ? 1 : 0)
  );
}

/** True when `a` and `b` list the same blob entries, in any order. */
export function sameBlobs(a: readonly PackedBlob[], b: readonly PackedBlob[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort(byAllFields);
  const sb = [...b].sort(byAllFields);
  return sa.every((x, i) => byAllFields(x, sb[i]) === 0);
}

/** The finding when a pack's SHA-256 (hex) is not its name. */
export function packHashProblem(id: string, digest: string): PackProblem | undefined {
  if (digest === id) return undefined;
  return { kind: 'pack', id, message: `pack ${id}: content does not match its name (the file is damaged)` };
}

/**
 * True when `tail`, the last bytes of a pack, holds the whole header its last four bytes
 * announce: then headerProblem(tail) finds what it would find given the whole pack.
 */
export function holdsHeader(tail: Buffer): boolean {
  return tail.length >= 4 && 4 + tail.readUInt32LE(tail.length - 4) <= tail.length;
}

/** The finding when the header at the end of `buf` (the pack, or a tail that holdsHeader) is bad. */
export function headerProblem(
  key: MasterKey,
  id: string,
  buf: Buffer,
  blobs: readonly PackedBlob[],
): PackProblem | undefined {
  try {
    const hlen = buf.readUInt32LE(buf.length - 4);
    const header = decodeHeader(open(key, buf.subarray(buf.length - 4 - hlen, buf.length - 4)), `pack ${id}`);
    if (!sameBlobs(header, blobs)) throw new Error('header does not match the index');
    return undefined;
  } catch (err) {
    return { kind: 'pack', id, message: `pack ${id}: ${errText(err)}` };
  }
}

/** Opens every blob of pack `packId` found in `buf` at the blobs' offsets; bad = their indexes. */
export function verifyBlobs(
  key: MasterKey,
  packId: string,
  buf: Buffer,
  blobs: readonly PackedBlob[],
): PackVerdict {
  const problems: PackProblem[] = [];
  const bad: number[] = [];
  blobs.forEach((b, i) => {
    const sealed = buf.subarray(b.offset, b.offset + b.length);
    if (profiled('verify', sealed.length, () => blobIsIntact(key, sealed, b.uncompressedLength, b.id)))
      return;
    try {
      // Not proven intact: the reference path finds and words the error.
      openBlob(key, { ...b, packId }, sealed);
    } catch (err) {
      problems.push({ kind: 'blob', id: b.id, message: errText(err) });
      bad.push(i);
    }
  });
  turnover(buf.length);
  return { problems, bad };
}

export function verifyPack(
  key: MasterKey,
  id: string,
  bytes: Uint8Array,
  blobs: readonly PackedBlob[],
): PackVerdict {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const digest = profiled('hash', buf.length, () => createHash('sha256').update(buf).digest('hex'));
  const problems: PackProblem[] = [];
  for (const p of [packHashProblem(id, digest), headerProblem(key, id, buf, blobs)]) if (p) problems.push(p);
  const verdict = verifyBlobs(key, id, buf, blobs);
  return { problems: [...problems, ...verdict.problems], bad: verdict.bad };
}
