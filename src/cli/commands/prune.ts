/** `holdfast prune [--max-unused P%] [--dry-run]`: remove unreferenced data (exclusive lock). */
import type { Command } from 'commander';
import { withRepo } from '../../app/session.js';
import { pruneRepository, type PruneReport } from '../../engine/prune.js';
import { fail } from '../../errors.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { formatBytes, makeOutput, type Output } from '../output.js';

function parseMaxUnused(text: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (text === 'unlimited') return 100;
  if (!m || Number(m[1]) > 100)
    fail('INVALID_ARGUMENT', `--max-unused "${text}": give a percentage such as 5% (or "unlimited")`);
  return Number(m[1]);
}

export function printPruneReport(out: Output, r: PruneReport): void {
  out.emit({ message_type: 'summary', ...r });
  const verb = r.dryRun ? 'would' : 'did';
  out.info(`${r.snapshots} snapshots, ${r.packsBefore} packs, ${formatBytes(r.bytesBefore)}`);
  out.info(`used:   ${formatBytes(r.usedBytes)}; unused: ${formatBytes(r.unusedBytesBefore)}`);
  out.info(
    `${verb} remove ${r.packsRemoved} unused packs, repack ${r.packsRepacked} partly used packs, ` +
      `remove ${r.packsUnindexed} unindexed packs: ${formatBytes(r.bytesDeleted)} freed before repacking`,
  );
  out.info(`unused afterwards: ${formatBytes(r.unusedBytesAfter)}`);
  if (r.filesRetained > 0)
    out.info(
      `${r.filesRetained} files are under retention until ${r.retainedUntil}; they will be removed by a prune after that`,
    );
}

export function registerPrune(program: Command, globals: () => GlobalOptions): void {
  program
    .command('prune')
    .description('remove data no snapshot references (run after forget)')
    .option('--max-unused <limit>', 'unused data to tolerate afterwards, e.g. 5% or unlimited', '5%')
    .option('-n, --dry-run', 'only show what would be removed')
    .action(async (flags: { maxUnused: string; dryRun?: boolean }) => {
      const g = globals();
      const out = makeOutput(g);
      const maxUnusedPercent = parseMaxUnused(flags.maxUnused);
      let progress = '';
      const stop = out.progress(() => progress || 'planning');
      const report = await withRepo(repoRef(g), 'exclusive', false, (repo) =>
        pruneRepository(repo, {
          maxUnusedPercent,
          dryRun: flags.dryRun,
          onProgress: (p) => (progress = `${p.phase}: ${p.done}/${p.total} packs`),
        }),
      ).finally(stop);
      printPruneReport(out, report);
    });
}
