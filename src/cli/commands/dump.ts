/** `holdfast dump ID FILE`: write one file of a snapshot to stdout. */
import type { Command } from 'commander';
import { resolveNode } from '../../app/snapshot-ref.js';
import { withRepo } from '../../app/session.js';
import { dumpFile } from '../../engine/dump.js';
import { type GlobalOptions, repoRef } from '../global-options.js';

export function registerDump(program: Command, globals: () => GlobalOptions): void {
  program
    .command('dump')
    .description('write a file from a snapshot to standard output')
    .argument('<snapshot>', 'snapshot ID or "latest"')
    .argument('<file>', 'path of the file inside the snapshot, e.g. /stdin')
    .action(async (ref: string, file: string) => {
      await withRepo(repoRef(globals()), 'shared', true, async (repo) => {
        const { node } = await resolveNode(repo, ref, {}, file);
        await dumpFile(repo, node, process.stdout);
      });
    });
}
