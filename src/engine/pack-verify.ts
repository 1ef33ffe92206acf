/**
 * Verifies one whole pack's bytes (check --read-data): the pack hashes to its name, its
 * header decrypts and lists exactly the indexed blobs, and every blob opens and hashes to its
 * ID. Pure, so it runs inline or in a worker thread.
 */
import { createHash } from 'node:crypto';
import { openBlob } from './blob-codec.js';
import { open, type MasterKey } from './crypto.js';
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

export function sameBlobs(a: readonly PackedBlob[], b: readonly PackedBlob[]): boolean {
  const key = (x: PackedBlob) => `${x.type}:${x.id}:${x.offset}:${x.length}:${x.uncompressedLength}`;
  const sa = a.map(key).sort();
  const sb = b.map(key).sort();
  return sa.length === sb.length && sa.every((k, i) => k === sb[i]);
}

export function verifyPack(
  key: MasterKey,
  id: string,
  bytes: Uint8Array,
  blobs: readonly PackedBlob[],
): PackVerdict {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const problems: PackProblem[] = [];
  const bad: number[] = [];
  const digest = profiled('hash', buf.length, () => createHash('sha256').update(buf).digest('hex'));
  if (digest !== id)
    problems.push({
      kind: 'pack',
      id,
      message: `pack ${id}: content does not match its name (the file is damaged)`,
    });
  try {
    const hlen = buf.readUInt32LE(buf.length - 4);
    const header = decodeHeader(open(key, buf.subarray(buf.length - 4 - hlen, buf.length - 4)), `pack ${id}`);
    if (!sameBlobs(header, blobs)) throw new Error('header does not match the index');
  } catch (err) {
    problems.push({ kind: 'pack', id, message: `pack ${id}: ${errText(err)}` });
  }
  blobs.forEach((b, i) => {
    try {
      openBlob(key, { ...b, packId: id }, buf.subarray(b.offset, b.offset + b.length));
    } catch (err) {
      problems.push({ kind: 'blob', id: b.id, message: errText(err) });
      bad.push(i);
    }
  });
  return { problems, bad };
}
