/**
 * `holdfast check [--read-data | --read-data-subset n/m|P%]`: restic's syntax. Exit 0 when
 * the repository is whole, 4 when damage was found (each damaged file or blob and every
 * snapshot it affects is named), 1 when the check itself could not be completed.
 */
import type { Command } from 'commander';
import { withRepo } from '../../app/session.js';
import { checkRepository, parseReadDataSubset, type CheckProgress } from '../../engine/checker.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { formatBytes, makeOutput } from '../output.js';

export const EXIT_DAMAGED = 4;

export function registerCheck(program: Command, globals: () => GlobalOptions): void {
  program
    .command('check')
    .description('check the repository for errors (structure; with --read-data also every pack)')
    .option('--read-data', 'read and verify every pack')
    .option('--read-data-subset <subset>', 'read and verify a subset: n/m (bucket n of m) or P% (random)')
    .action(async (flags: { readData?: boolean; readDataSubset?: string }) => {
      const g = globals();
      const out = makeOutput(g);
      const readData = flags.readDataSubset
        ? parseReadDataSubset(flags.readDataSubset)
        : flags.readData
          ? ({ kind: 'all' } as const)
          : undefined;
      let last: CheckProgress | undefined;
      const stop = out.progress(() => {
        if (!last) return 'starting';
        const of = last.total ? `/${last.total}` : '';
        const bytes = last.bytes ? `, ${formatBytes(last.bytes)}` : '';
        return `${last.phase}: ${last.done}${of}${bytes}`;
      });
      const report = await withRepo(repoRef(g), 'shared', false, (repo) =>
        checkRepository(repo, { readData, onProgress: (p) => (last = p) }),
      ).finally(stop);
      out.emit({
        message_type: 'summary',
        errors: report.errors,
        hints: report.hints,
        damaged_snapshots: report.damagedSnapshots,
        snapshots: report.snapshots,
        packs: report.packs,
        packs_read: report.packsRead,
        bytes_read: report.bytesRead,
      });
      for (const h of report.hints) out.info(h);
      for (const e of report.errors) out.warn(`error: ${e.message}`);
      if (report.errors.length > 0) {
        for (const s of report.damagedSnapshots)
          out.warn(`snapshot ${s} is affected and may not restore fully`);
        out.warn(
          `holdfast: the repository is damaged: ${report.errors.length} error(s) found; restore from a copy or remove the affected snapshots`,
        );
        process.exitCode = EXIT_DAMAGED;
        return;
      }
      const read = readData
        ? `, ${report.packsRead} packs (${formatBytes(report.bytesRead)}) read and verified`
        : '';
      out.info(`no errors were found (${report.snapshots} snapshots, ${report.packs} packs${read})`);
    });
}
