/**
 * `holdfast run [ASSET...] [--policy FILE]`: for each asset (all that are backed up by
 * default): back up, copy to replicas, apply retention; every step is a job in the catalog.
 * One failing asset does not stop the others; exit 0 only when every step succeeded.
 */
import type { Command } from 'commander';
import { openPolicyContext } from '../../app/policy-context.js';
import { runAssets } from '../../app/run-assets.js';
import type { GlobalOptions } from '../global-options.js';
import { makeOutput } from '../output.js';
import { addPolicyOption, policyFile } from '../policy-option.js';

export function registerRun(program: Command, globals: () => GlobalOptions): void {
  addPolicyOption(program.command('run'))
    .description('run the policy now: back up, copy and apply retention for each asset')
    .argument('[assets...]', 'only these assets (default: every asset that is backed up)')
    .action(async (assets: string[], flags: { policy?: string }) => {
      const out = makeOutput(globals());
      const ctx = await openPolicyContext(policyFile(flags.policy));
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      try {
        const results = await runAssets(ctx, assets, { signal: abort.signal, log: (l) => out.info(l) });
        out.emit({ message_type: 'run', assets: results });
        const failed = results.filter((r) => !r.ok);
        for (const r of failed)
          for (const s of r.steps.filter((x) => x.status !== 'succeeded'))
            out.warn(`holdfast: ${r.asset}: ${s.kind} in ${s.repository} ${s.status}: ${s.error}`);
        out.info(`${results.length - failed.length} of ${results.length} asset(s) ran without errors`);
        if (failed.length > 0) process.exitCode = 1;
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        await ctx.catalog.close();
      }
    });
}
