/**
 * `holdfast status [--policy FILE] [--json]`: per asset the newest good backup and its age
 * against the rpo, each replica's newest copy, the last job and the next run. Exits 1 when
 * any asset is out of policy, so cron or a monitoring system can call it.
 */
import type { Command } from 'commander';
import { openPolicyContext } from '../../app/policy-context.js';
import { type AssetStatus, evaluateStatus } from '../../app/status.js';
import { describeMs } from '../../policy/duration.js';
import type { GlobalOptions } from '../global-options.js';
import { makeOutput } from '../output.js';
import { addPolicyOption, policyFile } from '../policy-option.js';
import { renderTable } from '../table.js';

export const EXIT_OUT_OF_POLICY = 1;

/** "just now", "5 min ago", "3 h ago", "2 d ago". */
export function ageInWords(ms?: number): string {
  if (ms === undefined) return '-';
  const min = Math.floor(Math.max(0, ms) / 60_000);
  if (min < 1) return 'just now';
  if (min < 120) return `${min} min ago`;
  if (min < 48 * 60) return `${Math.floor(min / 60)} h ago`;
  return `${Math.floor(min / 1440)} d ago`;
}

function row(s: AssetStatus): string[] {
  if (!s.backedUp) return [s.asset, 'not backed up', '-', '-', '-', '-', '-'];
  const replicas = s.replicas
    .map((r) => `${r.repository} ${r.ok ? 'ok' : r.lastCopyAt ? 'stale' : 'missing'}`)
    .join(', ');
  return [
    s.asset,
    s.inPolicy ? 'OK' : 'OUT OF POLICY',
    s.lastBackupAt ? ageInWords(s.ageMs) : 'never',
    s.rpoMs ? describeMs(s.rpoMs) : '-',
    replicas || '-',
    s.lastJob ? `${s.lastJob.kind} ${s.lastJob.status}` : '-',
    s.nextRunAt ? s.nextRunAt.slice(0, 16).replace('T', ' ') + 'Z' : '-',
  ];
}

export function registerStatus(program: Command, globals: () => GlobalOptions): void {
  addPolicyOption(program.command('status'))
    .description('show whether every asset has an up-to-date backup and replica copies')
    .action(async (flags: { policy?: string }) => {
      const out = makeOutput(globals());
      const ctx = await openPolicyContext(policyFile(flags.policy));
      let statuses: AssetStatus[];
      try {
        statuses = await evaluateStatus(ctx.policy, ctx.catalog);
      } finally {
        await ctx.catalog.close();
      }
      const bad = statuses.filter((s) => !s.inPolicy);
      if (out.json)
        process.stdout.write(
          JSON.stringify({ inPolicy: bad.length === 0, assets: statuses }, null, 2) + '\n',
        );
      out.info(
        renderTable(
          ['Asset', 'State', 'Last good backup', 'RPO', 'Replicas', 'Last job', 'Next run'],
          statuses.map(row),
        ),
      );
      for (const s of bad) for (const p of s.problems) out.info(`${s.asset}: ${p}`);
      out.info(bad.length === 0 ? 'all assets are in policy' : `${bad.length} asset(s) out of policy`);
      if (bad.length > 0) process.exitCode = EXIT_OUT_OF_POLICY;
    });
}
