/**
 * The forget use case: under the repository's exclusive lock (shared for a dry run), list the
 * snapshots that match the filter, apply the retention policy per group and remove the
 * snapshot files it does not keep — or remove the snapshots named explicitly.
 */
import { fail } from '../errors.js';
import { type ForgetGroupPlan, planForget, removeSnapshots } from '../engine/forget.js';
import type { Repository } from '../engine/repository.js';
import { isEmptyPolicy, type RetentionPolicy } from '../engine/retention.js';
import type { GroupBy } from '../engine/snapshot-group.js';
import {
  findSnapshot,
  listSnapshots,
  matchesFilter,
  type SnapshotFilter,
  type StoredSnapshot,
} from '../engine/snapshots.js';
import { type RepoRef, withRepo } from './session.js';

export interface ForgetRequest {
  policy: RetentionPolicy;
  groupBy: GroupBy;
  filter?: SnapshotFilter;
  /** Snapshot IDs or unique prefixes to remove outright (the policy is then not used). */
  ids?: string[];
  dryRun?: boolean;
  /** Called with the outcome once the snapshots are removed, before `after`. */
  report?: (outcome: ForgetOutcome) => void;
  /** Runs after the snapshots were removed, still under the lock (e.g. a prune). */
  after?: (repo: Repository, removed: string[]) => Promise<void>;
}

export interface ForgetOutcome {
  /** Empty when snapshots were named explicitly. */
  groups: ForgetGroupPlan[];
  /** Snapshots that were removed (or, in a dry run, would be). */
  removed: StoredSnapshot[];
  dryRun: boolean;
}

export async function forget(ref: RepoRef, req: ForgetRequest): Promise<ForgetOutcome> {
  const explicit = (req.ids ?? []).length > 0;
  if (!explicit && isEmptyPolicy(req.policy)) {
    fail(
      'INVALID_ARGUMENT',
      'no policy given, nothing would be removed: use --keep-last, --keep-daily, --keep-within … or name snapshot IDs',
    );
  }
  const dryRun = !!req.dryRun;
  return withRepo(ref, dryRun ? 'shared' : 'exclusive', false, async (repo) => {
    let groups: ForgetGroupPlan[] = [];
    let removed: StoredSnapshot[];
    if (explicit) {
      const seen = new Map<string, StoredSnapshot>();
      for (const id of req.ids!) {
        const s = await findSnapshot(repo, id);
        seen.set(s.id, s);
      }
      removed = [...seen.values()];
    } else {
      const all = (await listSnapshots(repo)).filter((s) => matchesFilter(s.snapshot, req.filter ?? {}));
      groups = planForget(all, req.policy, req.groupBy);
      removed = groups.flatMap((g) => g.remove);
    }
    const ids = removed.map((s) => s.id);
    if (!dryRun) await removeSnapshots(repo, ids);
    const outcome: ForgetOutcome = { groups, removed, dryRun };
    req.report?.(outcome);
    if (req.after && ids.length > 0) await req.after(repo, ids);
    return outcome;
  });
}
