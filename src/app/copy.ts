/**
 * Copying snapshots to another repository (restic `copy`): both repositories are opened with
 * their own passwords and locked shared, as restic 0.14 does; the snapshots are chosen by ID
 * (or "latest") or by host/tag/path filter, oldest first.
 */
import { type CopyProgress, type CopyResult, copySnapshots } from '../engine/copy.js';
import { withLock } from '../engine/lock.js';
import type { Repository } from '../engine/repository.js';
import {
  findSnapshot,
  listSnapshots,
  matchesFilter,
  type SnapshotFilter,
  type StoredSnapshot,
} from '../engine/snapshots.js';
import { openRepo, type RepoRef } from './session.js';

export interface CopyRequest {
  source: RepoRef;
  destination: RepoRef;
  /** Snapshot IDs, prefixes or "latest"; empty means every snapshot matching `filter`. */
  snapshots: string[];
  filter: SnapshotFilter;
}

async function selectSnapshots(repo: Repository, refs: string[], filter: SnapshotFilter) {
  if (refs.length === 0) return (await listSnapshots(repo)).filter((s) => matchesFilter(s.snapshot, filter));
  const chosen = new Map<string, StoredSnapshot>();
  for (const ref of refs) {
    const s = await findSnapshot(repo, ref, filter);
    chosen.set(s.id, s);
  }
  return [...chosen.values()];
}

export async function copyToRepo(
  req: CopyRequest,
  onProgress?: (p: CopyProgress) => void,
): Promise<CopyResult & { bytesStored: number }> {
  const src = await openRepo(req.source);
  try {
    const dst = await openRepo(req.destination);
    try {
      return await withLock(src, false, () =>
        withLock(dst, false, async () => {
          await src.loadIndex();
          await dst.loadIndex();
          const selected = await selectSnapshots(src, req.snapshots, req.filter);
          const result = await copySnapshots(src, dst, selected, onProgress);
          // Bytes written into the destination's packs (sealed, compressed).
          return { ...result, bytesStored: dst.stats.dataAddedPacked };
        }),
      );
    } finally {
      await dst.backend.close();
    }
  } finally {
    await src.backend.close();
  }
}
