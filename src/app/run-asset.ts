/**
 * One run of one asset of the policy, each step recorded as a job in the catalog: back up
 * from the asset's source into its repository, copy the asset's snapshots to each replica,
 * then apply the retention to the repository and to each replica (forget + prune). A failed
 * backup stops the asset's run (nothing new to copy, nothing forgotten); a failed copy or
 * retention step is recorded and the other steps still run. An aborted run is recorded as
 * aborted and leaves no snapshot behind.
 */
import type { JobKind } from '../catalog/catalog.js';
import { isHoldfastError } from '../errors.js';
import type { BackedUpAsset } from '../policy/types.js';
import { backupAsset } from './asset-backup.js';
import { copyToRepo } from './copy.js';
import { type PolicyContext, repoRefFor } from './policy-context.js';
import { applyAssetRetention, assetTag } from './retention-policy.js';
import { withRepo } from './session.js';

export interface StepOutcome {
  kind: JobKind;
  repository: string;
  status: 'succeeded' | 'failed' | 'aborted';
  snapshotId?: string;
  error?: string;
}

export interface AssetRunOutcome {
  asset: string;
  ok: boolean;
  steps: StepOutcome[];
}

export interface RunHooks {
  signal?: AbortSignal;
  now?: () => Date;
  log?: (line: string) => void;
}

interface StepResult {
  snapshotId?: string;
  bytesAdded?: number;
  details?: Record<string, unknown>;
}

function messageOf(err: unknown): string {
  if (isHoldfastError(err)) return err.message;
  return `unexpected error: ${err instanceof Error ? err.message : String(err)}`;
}

/** Runs `fn` as a job of the catalog; never throws, returns how it went. */
async function recordStep(
  ctx: PolicyContext,
  asset: string,
  kind: JobKind,
  repository: string,
  hooks: RunHooks,
  fn: () => Promise<StepResult>,
): Promise<StepOutcome> {
  const now = hooks.now ?? (() => new Date());
  const id = await ctx.catalog.startJob({ asset, kind, repository, startedAt: now() });
  hooks.log?.(`${asset}: ${kind} (${repository}) started`);
  try {
    if (hooks.signal?.aborted) throw hooks.signal.reason;
    const r = await fn();
    await ctx.catalog.finishJob(id, { status: 'succeeded', finishedAt: now(), ...r });
    hooks.log?.(
      `${asset}: ${kind} (${repository}) succeeded${r.snapshotId ? `, snapshot ${r.snapshotId.slice(0, 8)}` : ''}`,
    );
    return { kind, repository, status: 'succeeded', snapshotId: r.snapshotId };
  } catch (err) {
    const status = hooks.signal?.aborted ? 'aborted' : 'failed';
    const error =
      status === 'aborted' ? `aborted: ${messageOf(hooks.signal?.reason ?? err)}` : messageOf(err);
    await ctx.catalog.finishJob(id, { status, finishedAt: now(), error });
    hooks.log?.(`${asset}: ${kind} (${repository}) ${status}: ${error}`);
    return { kind, repository, status, error };
  }
}

async function copyAssetTo(ctx: PolicyContext, asset: BackedUpAsset, replica: string): Promise<StepResult> {
  const r = await copyToRepo({
    source: repoRefFor(ctx.policy, asset.repository, ctx.env),
    destination: repoRefFor(ctx.policy, replica, ctx.env),
    snapshots: [],
    filter: { tags: [assetTag(asset.name)] },
  });
  const copied = r.snapshots.filter((s) => s.newId).length;
  const newest = r.snapshots[r.snapshots.length - 1];
  return {
    snapshotId: newest?.newId ?? newest?.existingId,
    bytesAdded: r.bytesStored,
    details: { copied, alreadyThere: r.snapshots.length - copied },
  };
}

export async function runAsset(
  ctx: PolicyContext,
  asset: BackedUpAsset,
  hooks: RunHooks = {},
): Promise<AssetRunOutcome> {
  const steps: StepOutcome[] = [];
  const backup = await recordStep(ctx, asset.name, 'backup', asset.repository, hooks, () =>
    withRepo(repoRefFor(ctx.policy, asset.repository, ctx.env), 'shared', true, async (repo) => {
      const r = await backupAsset(repo, asset, { dir: ctx.policy.dir, env: ctx.env, signal: hooks.signal });
      return { snapshotId: r.snapshotId, bytesAdded: repo.stats.dataAddedPacked, details: r.details };
    }),
  );
  steps.push(backup);
  if (backup.status !== 'succeeded') return { asset: asset.name, ok: false, steps };

  for (const replica of asset.copies) {
    steps.push(
      await recordStep(ctx, asset.name, 'copy', replica, hooks, () => copyAssetTo(ctx, asset, replica)),
    );
  }
  for (const repoName of [asset.repository, ...asset.copies]) {
    const spec = ctx.policy.repositories[repoName];
    steps.push(
      await recordStep(ctx, asset.name, 'forget', repoName, hooks, () =>
        withRepo(repoRefFor(ctx.policy, repoName, ctx.env), 'exclusive', false, async (repo) => {
          const r = await applyAssetRetention(repo, asset.name, asset.retention, {
            immutableDays: spec?.immutableDays,
            now: hooks.now?.(),
          });
          return {
            details: {
              kept: r.kept,
              removed: r.removed,
              heldByImmutability: r.heldByImmutability,
              pruned: r.prune
                ? { packsRemoved: r.prune.packsRemoved, packsRepacked: r.prune.packsRepacked }
                : null,
            },
          };
        }),
      ),
    );
  }
  return { asset: asset.name, ok: steps.every((s) => s.status === 'succeeded'), steps };
}
