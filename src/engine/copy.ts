/**
 * Copying snapshots between two open repositories with different master keys: every tree
 * and data blob the destination lacks is loaded as plaintext from the source and saved into
 * the destination (re-encrypted, deduplicated), then the snapshot is saved with `original`
 * naming the source snapshot. A source snapshot already copied (the same original ID and the
 * same time, tree, host, user, uid/gid, paths, tags and excludes) is skipped, as restic does.
 */
import { parseGoTime } from './gotime.js';
import type { Repository } from './repository.js';
import type { Snapshot } from './snapshot.js';
import { listSnapshots, saveSnapshot, type StoredSnapshot } from './snapshots.js';
import { decodeTree } from './tree.js';

const LOAD_AHEAD = 4;

export interface CopyProgress {
  snapshotsDone: number;
  snapshotsTotal: number;
  /** Blobs (trees and data) written into the destination so far. */
  blobsCopied: number;
  /** Plaintext bytes of those blobs. */
  bytesCopied: number;
}

export interface CopiedSnapshot {
  sourceId: string;
  /** The new snapshot in the destination; absent when skipped. */
  newId?: string;
  /** The destination snapshot that already is a copy of this one (when skipped). */
  existingId?: string;
}

export interface CopyResult extends CopyProgress {
  snapshots: CopiedSnapshot[];
}

function sameSet(a: readonly string[] = [], b: readonly string[] = []): boolean {
  if (a.length !== b.length) return false;
  const have = new Set(a);
  return b.every((x) => have.has(x));
}

/** restic's similarSnapshots: every field but parent and original matches. */
export function similarSnapshots(a: Snapshot, b: Snapshot): boolean {
  const ex1 = a.excludes ?? [];
  const ex2 = b.excludes ?? [];
  return (
    parseGoTime(a.time) === parseGoTime(b.time) &&
    a.tree === b.tree &&
    (a.hostname ?? '') === (b.hostname ?? '') &&
    (a.username ?? '') === (b.username ?? '') &&
    (a.uid ?? 0) === (b.uid ?? 0) &&
    (a.gid ?? 0) === (b.gid ?? 0) &&
    sameSet(a.paths, b.paths) &&
    sameSet(a.tags, b.tags) &&
    ex1.length === ex2.length &&
    ex1.every((x, i) => x === ex2[i])
  );
}

/** Destination snapshots by the ID they stand for: their `original`, and their own ID. */
function byOriginal(dest: StoredSnapshot[]): Map<string, StoredSnapshot[]> {
  const map = new Map<string, StoredSnapshot[]>();
  const add = (key: string, s: StoredSnapshot) => map.set(key, [...(map.get(key) ?? []), s]);
  for (const s of dest) {
    if (s.snapshot.original) add(s.snapshot.original, s);
    add(s.id, s);
  }
  return map;
}

/**
 * Copies `selected` (snapshots of `src`) into `dst`. Both indexes must be loaded and both
 * repositories locked by the caller. `onProgress` is called after every blob and snapshot.
 */
export async function copySnapshots(
  src: Repository,
  dst: Repository,
  selected: StoredSnapshot[],
  onProgress?: (p: CopyProgress) => void,
): Promise<CopyResult> {
  const existing = byOriginal(await listSnapshots(dst));
  const visitedTrees = new Set<string>();
  const result: CopyResult = {
    snapshotsDone: 0,
    snapshotsTotal: selected.length,
    blobsCopied: 0,
    bytesCopied: 0,
    snapshots: [],
  };
  const progress = () =>
    onProgress?.({
      snapshotsDone: result.snapshotsDone,
      snapshotsTotal: result.snapshotsTotal,
      blobsCopied: result.blobsCopied,
      bytesCopied: result.bytesCopied,
    });

  const copyBlob = async (type: 'tree' | 'data', id: string, plaintext?: Buffer) => {
    if (dst.hasBlob(type, id)) return;
    const data = plaintext ?? (await src.loadBlob(type, id));
    const { added } = await dst.saveBlob(type, data, id);
    if (added) {
      result.blobsCopied++;
      result.bytesCopied += data.length;
      progress();
    }
  };

  // Depth-first: a tree's data blobs and subtrees go in before the tree itself. Trees seen
  // earlier in this run are not walked again; trees the destination has are still walked,
  // as restic does, so that missing blobs below them are found.
  const copyTree = async (treeId: string): Promise<void> => {
    if (visitedTrees.has(treeId)) return;
    visitedTrees.add(treeId);
    const raw = await src.loadBlob('tree', treeId);
    for (const node of decodeTree(raw)) {
      const missing = (node.content ?? []).filter((b) => !dst.hasBlob('data', b));
      // Loads run a few at a time; saves stay sequential (saveBlob fills one pack at a time).
      for (let i = 0; i < missing.length; i += LOAD_AHEAD) {
        const batch = missing.slice(i, i + LOAD_AHEAD);
        const plain = await Promise.all(batch.map((b) => src.loadBlob('data', b)));
        for (let j = 0; j < batch.length; j++) await copyBlob('data', batch[j], plain[j]);
      }
      if (node.type === 'dir' && node.subtree) await copyTree(node.subtree);
    }
    // The raw bytes are copied, never re-encoded, so the tree keeps its ID.
    await copyBlob('tree', treeId, raw);
  };

  for (const { id, snapshot } of selected) {
    const key = snapshot.original ?? id;
    const twin = existing.get(key)?.find((d) => similarSnapshots(d.snapshot, snapshot));
    if (twin) {
      result.snapshots.push({ sourceId: id, existingId: twin.id });
    } else {
      await copyTree(snapshot.tree);
      await dst.flush();
      const copy: Snapshot = { ...snapshot, original: snapshot.original ?? id };
      delete copy.parent; // the parent means nothing in the destination
      const newId = await saveSnapshot(dst, copy);
      result.snapshots.push({ sourceId: id, newId });
    }
    result.snapshotsDone++;
    progress();
  }
  return result;
}
