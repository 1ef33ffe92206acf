/** `holdfast restore ID[:SUBPATH] --target DIR`: restic's syntax. */
import type { Command } from 'commander';
import { resolveNode } from '../../app/snapshot-ref.js';
import { withRepo } from '../../app/session.js';
import { newRestoreCounters, restore } from '../../engine/restorer.js';
import { fail } from '../../errors.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { formatBytes, formatDuration, makeOutput } from '../output.js';

const collect = (v: string, acc: string[]) => [...acc, v];

export function registerRestore(program: Command, globals: () => GlobalOptions): void {
  program
    .command('restore')
    .description('restore a snapshot, or a path inside it, into a directory')
    .argument('<snapshot>', 'snapshot ID, or "latest"; ID:SUBPATH restores only that path')
    .option('-t, --target <dir>', 'directory to restore into')
    .option('--verify', 'read restored files back and check them against the snapshot')
    .option('--sparse', 'leave holes for all-zero chunks (sparse files)')
    .option('-H, --host <host>', 'with "latest": only snapshots of this host', collect, [])
    .option('--tag <tags>', 'with "latest": only snapshots with these tags', collect, [])
    .option('--path <path>', 'with "latest": only snapshots with this path', collect, [])
    .action(
      async (
        arg: string,
        flags: {
          target?: string;
          verify?: boolean;
          sparse?: boolean;
          host: string[];
          tag: string[];
          path: string[];
        },
      ) => {
        const g = globals();
        const out = makeOutput(g);
        if (!flags.target) fail('INVALID_ARGUMENT', 'give the directory to restore into with --target');
        const target = flags.target;
        const counters = newRestoreCounters();
        const started = Date.now();
        let warnings = 0;
        const stop = out.progress(() => {
          const secs = (Date.now() - started) / 1000;
          return `[${formatDuration(secs)}] ${counters.files} files, ${formatBytes(counters.bytes)}, ${formatBytes(counters.bytes / Math.max(secs, 0.001))}/s`;
        });
        try {
          await withRepo(repoRef(g), 'shared', true, async (repo) => {
            const { snap, node, path } = await resolveNode(repo, arg, {
              hosts: flags.host,
              tags: flags.tag,
              paths: flags.path,
            });
            out.info(
              `restoring snapshot ${snap.id.slice(0, 8)}${path === '/' ? '' : ` path ${path}`} to ${target}`,
            );
            await restore(repo, node, {
              target,
              verify: flags.verify,
              sparse: flags.sparse,
              counters,
              onWarning: (p, m) => {
                warnings++;
                out.warn(`warning: ${p}: ${m}`);
              },
            });
          });
        } finally {
          stop();
        }
        const secs = (Date.now() - started) / 1000;
        out.emit({
          message_type: 'summary',
          files_restored: counters.files,
          bytes_restored: counters.bytes,
          files_verified: counters.verifiedFiles,
          total_duration: secs,
        });
        out.info(
          `restored ${counters.files} files, ${formatBytes(counters.bytes)} in ${formatDuration(secs)}`,
        );
        if (flags.verify) out.info(`verified ${counters.verifiedFiles} files`);
        if (warnings > 0) process.exitCode = 1;
      },
    );
}
