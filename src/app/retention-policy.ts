/**
 * Applying an asset's retention to one repository: the policy file's retention rules become
 * restic's, the asset's snapshots (tag `asset:NAME`) form one group, snapshots still inside
 * the repository's immutability period are never removed, and prune runs when anything went.
 */
import { planForget, removeSnapshots } from '../engine/forget.js';
import { pruneRepository, type PruneReport } from '../engine/prune.js';
import type { Repository } from '../engine/repository.js';
import { parseRetentionDuration, type RetentionPolicy } from '../engine/retention.js';
import { listSnapshots } from '../engine/snapshots.js';
import { parseGoTime } from '../engine/gotime.js';
import type { Retention } from '../policy/types.js';

export const assetTag = (asset: string) => `asset:${asset}`;

export function toRetentionPolicy(r: Retention): RetentionPolicy {
  const d = (x: { restic: string } | undefined) => (x ? parseRetentionDuration(x.restic) : undefined);
  return {
    last: r.keepLast,
    hourly: r.keepHourly,
    daily: r.keepDaily,
    weekly: r.keepWeekly,
    monthly: r.keepMonthly,
    yearly: r.keepYearly,
    within: d(r.within),
    withinHourly: d(r.withinHourly),
    withinDaily: d(r.withinDaily),
    withinWeekly: d(r.withinWeekly),
    withinMonthly: d(r.withinMonthly),
    withinYearly: d(r.withinYearly),
    tags: r.keepTag?.map((t) => [t]),
  };
}

export interface RetentionOutcome {
  kept: number;
  removed: string[];
  /** Snapshots the rules would remove but the immutability period protects. */
  heldByImmutability: string[];
  prune?: PruneReport;
}

/** Forgets the asset's snapshots its rules no longer keep, then prunes. Needs the exclusive lock. */
export async function applyAssetRetention(
  repo: Repository,
  asset: string,
  retention: Retention,
  opts: { immutableDays?: number; now?: Date } = {},
): Promise<RetentionOutcome> {
  const now = opts.now ?? new Date();
  const mine = (await listSnapshots(repo)).filter((s) => (s.snapshot.tags ?? []).includes(assetTag(asset)));
  const [plan] = planForget(mine, toRetentionPolicy(retention), { host: false, paths: false, tags: false });
  const lockedUntil = (time: string) =>
    Number(parseGoTime(time) / 1_000_000n) + (opts.immutableDays ?? 0) * 86_400_000;
  const remove = (plan?.remove ?? []).filter((s) => lockedUntil(s.snapshot.time) <= now.getTime());
  const held = (plan?.remove ?? []).filter((s) => !remove.includes(s)).map((s) => s.id);
  const removed = await removeSnapshots(
    repo,
    remove.map((s) => s.id),
  );
  const outcome: RetentionOutcome = { kept: mine.length - removed.length, removed, heldByImmutability: held };
  if (removed.length > 0) outcome.prune = await pruneRepository(repo);
  return outcome;
}
