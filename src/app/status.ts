/**
 * Is every asset in policy? For each asset: its newest good backup and that backup's age
 * against the rpo, each replica's newest copy, the last job, the next scheduled run. An asset
 * is out of policy when it has no good backup, when the backup or a replica's copy is older
 * than the rpo, or when a replica has no copy. Without an rpo, the longest gap between two
 * scheduled runs plus half of it is allowed. Read from the catalog; nothing is changed.
 */
import type { Catalog, JobRecord } from '../catalog/catalog.js';
import { longestGapMs } from '../policy/cron.js';
import { describeMs } from '../policy/duration.js';
import type { BackedUpAsset, Policy } from '../policy/types.js';
import { nextRun, parseSchedule } from '../scheduler/cron.js';

export interface ReplicaStatus {
  repository: string;
  lastCopyAt?: string;
  ageMs?: number;
  ok: boolean;
}

export interface AssetStatus {
  asset: string;
  backedUp: boolean;
  repository?: string;
  rpoMs?: number;
  lastBackupAt?: string;
  lastSnapshotId?: string;
  ageMs?: number;
  replicas: ReplicaStatus[];
  lastJob?: { kind: string; status: string; startedAt: string; error?: string };
  nextRunAt?: string;
  inPolicy: boolean;
  problems: string[];
}

/** The age allowed for an asset's newest copies. */
export function allowedAgeMs(asset: BackedUpAsset, now: Date): number {
  if (asset.rpo) return asset.rpo.ms;
  const gap = longestGapMs(asset.schedule.cron, asset.schedule.timezone, 20, now);
  return Math.round(gap * 1.5);
}

const ageOf = (job: JobRecord, now: Date) => now.getTime() - new Date(job.startedAt).getTime();

async function assetStatus(catalog: Catalog, asset: BackedUpAsset, now: Date): Promise<AssetStatus> {
  const rpoMs = allowedAgeMs(asset, now);
  const problems: string[] = [];
  const good = await catalog.lastSuccessful(asset.name, 'backup', asset.repository);
  const age = good ? ageOf(good, now) : undefined;
  if (!good) problems.push(`no good backup in ${asset.repository} yet`);
  else if ((age as number) > rpoMs)
    problems.push(
      `newest good backup is ${describeMs(age as number)} old, older than the rpo of ${describeMs(rpoMs)}`,
    );

  const replicas: ReplicaStatus[] = [];
  for (const name of asset.copies) {
    const copy = await catalog.lastSuccessful(asset.name, 'copy', name);
    const copyAge = copy ? ageOf(copy, now) : undefined;
    const ok = copyAge !== undefined && copyAge <= rpoMs;
    if (!copy) problems.push(`replica ${name} has no copy yet`);
    else if (!ok)
      problems.push(
        `newest copy in replica ${name} is ${describeMs(copyAge as number)} old, older than the rpo`,
      );
    replicas.push({ repository: name, lastCopyAt: copy?.startedAt, ageMs: copyAge, ok });
  }
  const last = await catalog.lastJob(asset.name);
  const next = nextRun(parseSchedule(asset.schedule.cron, asset.schedule.timezone), now);
  return {
    asset: asset.name,
    backedUp: true,
    repository: asset.repository,
    rpoMs,
    lastBackupAt: good?.startedAt,
    lastSnapshotId: good?.snapshotId ?? undefined,
    ageMs: age,
    replicas,
    lastJob: last
      ? { kind: last.kind, status: last.status, startedAt: last.startedAt, error: last.error ?? undefined }
      : undefined,
    nextRunAt: next?.toISOString(),
    inPolicy: problems.length === 0,
    problems,
  };
}

export async function evaluateStatus(
  policy: Policy,
  catalog: Catalog,
  now = new Date(),
): Promise<AssetStatus[]> {
  const out: AssetStatus[] = [];
  for (const asset of Object.values(policy.assets)) {
    if (asset.backup) out.push(await assetStatus(catalog, asset, now));
    else out.push({ asset: asset.name, backedUp: false, replicas: [], inPolicy: true, problems: [] });
  }
  return out;
}
