/** `holdfast unlock [--remove-all]`: remove stale locks (or all locks) and say which. */
import type { Command } from 'commander';
import { unlockRepo } from '../../app/unlock.js';
import { describeLock } from '../../engine/lock.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { makeOutput } from '../output.js';

export function registerUnlock(program: Command, globals: () => GlobalOptions): void {
  program
    .command('unlock')
    .description('remove stale locks (held by dead processes on this host, or older than 30 minutes)')
    .option('--remove-all', 'remove all locks, even ones held by running processes')
    .action(async (flags: { removeAll?: boolean }) => {
      const g = globals();
      const out = makeOutput(g);
      const removed = await unlockRepo(repoRef(g), !!flags.removeAll);
      for (const r of removed)
        out.info(
          `removed lock ${r.id.slice(0, 8)}: ${r.lock ? describeLock(r.lock) : 'unreadable lock file'}`,
        );
      out.info(removed.length === 0 ? 'no locks to remove' : `successfully removed ${removed.length} locks`);
      out.emit({
        message_type: 'unlock',
        removed: removed.map((r) => ({ id: r.id, ...(r.lock ?? {}) })),
      });
    });
}
