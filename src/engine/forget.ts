/**
 * Forgetting snapshots: plan which snapshots a retention policy removes, group by group, and
 * remove snapshot files. Only the snapshot files go; the data they referenced stays until a
 * prune. The caller holds the exclusive lock while removing.
 */
import type { Repository } from './repository.js';
import { applyRetention, type KeepReason, type RetentionOptions, type RetentionPolicy } from './retention.js';
import { type GroupBy, type GroupKey, groupSnapshots } from './snapshot-group.js';
import type { StoredSnapshot } from './snapshots.js';

export interface ForgetGroupPlan {
  key: GroupKey;
  /** Newest first. */
  keep: StoredSnapshot[];
  remove: StoredSnapshot[];
  reasons: KeepReason<StoredSnapshot>[];
}

/** Applies the policy to each group of the given snapshots. */
export function planForget(
  snapshots: readonly StoredSnapshot[],
  policy: RetentionPolicy,
  groupBy: GroupBy,
  opts: RetentionOptions = {},
): ForgetGroupPlan[] {
  return groupSnapshots(snapshots, groupBy).map((g) => ({
    key: g.key,
    ...applyRetention(g.snapshots, policy, opts),
  }));
}

/** Removes snapshot files; returns the IDs removed, in the order given. */
export async function removeSnapshots(
  repo: Repository,
  ids: readonly string[],
  onRemoved?: (id: string) => void,
): Promise<string[]> {
  const done: string[] = [];
  for (const id of ids) {
    await repo.backend.remove({ type: 'snapshot', name: id });
    done.push(id);
    onRemoved?.(id);
  }
  return done;
}
