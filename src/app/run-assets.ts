/**
 * `holdfast run`: runs the named assets (or every backed-up asset) of the policy one after
 * another. Naming an unknown asset, or one marked `backup: none`, is an error before anything runs.
 */
import { fail } from '../errors.js';
import type { BackedUpAsset } from '../policy/types.js';
import { suggestion } from '../policy/suggest.js';
import type { PolicyContext } from './policy-context.js';
import { type AssetRunOutcome, runAsset, type RunHooks } from './run-asset.js';

export function selectAssets(ctx: PolicyContext, names: readonly string[]): BackedUpAsset[] {
  const all = Object.values(ctx.policy.assets);
  if (names.length === 0) return all.filter((a): a is BackedUpAsset => a.backup);
  return names.map((n) => {
    const a = ctx.policy.assets[n];
    if (!a)
      fail(
        'INVALID_ARGUMENT',
        `no asset "${n}" in ${ctx.policy.file}: ${suggestion(n, Object.keys(ctx.policy.assets))}`,
      );
    if (!a.backup) fail('INVALID_ARGUMENT', `asset "${n}" is marked "backup: none" in ${ctx.policy.file}`);
    return a;
  });
}

export async function runAssets(
  ctx: PolicyContext,
  names: readonly string[],
  hooks: RunHooks = {},
): Promise<AssetRunOutcome[]> {
  const assets = selectAssets(ctx, names);
  const out: AssetRunOutcome[] = [];
  for (const a of assets) {
    if (hooks.signal?.aborted) break;
    out.push(await runAsset(ctx, a, hooks));
  }
  return out;
}
