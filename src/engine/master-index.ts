/**
 * The in-memory union of all index files: looks up where a blob is stored.
 * restic deduplicates by (type, ID), so data and tree blobs are kept apart.
 */
import type { IndexedPack } from './index-file.js';
import type { BlobType, PackedBlob } from './pack.js';

export interface BlobLocation extends PackedBlob {
  packId: string;
}

export interface MasterIndex {
  data: Map<string, BlobLocation>;
  tree: Map<string, BlobLocation>;
  /** Pack ID → blobs, from every index file read or written. */
  packs: Map<string, PackedBlob[]>;
}

export function emptyMasterIndex(): MasterIndex {
  return { data: new Map(), tree: new Map(), packs: new Map() };
}

export function addPacks(index: MasterIndex, packs: readonly IndexedPack[]): void {
  for (const p of packs) {
    index.packs.set(p.id, p.blobs);
    for (const b of p.blobs) {
      const map = index[b.type];
      if (map.has(b.id)) continue;
      // A literal rather than a spread: one object shape for all, and several times faster.
      const loc: BlobLocation = {
        type: b.type,
        id: b.id,
        offset: b.offset,
        length: b.length,
        uncompressedLength: b.uncompressedLength,
        packId: p.id,
      };
      map.set(b.id, loc);
    }
  }
}

export function lookupBlob(index: MasterIndex, type: BlobType, id: string): BlobLocation | undefined {
  return index[type].get(id);
}

/** Plaintext length of a blob (what restore writes). */
export function plaintextLength(b: PackedBlob): number {
  return b.uncompressedLength > 0 ? b.uncompressedLength : b.length - 32;
}
