/** `holdfast source-restore SNAPSHOT --into URL_OR_PATH [--database NAME]`: restore what a source backed up. */
import type { Command } from 'commander';
import { restoreFromSource } from '../../app/source-restore.js';
import { fail } from '../../errors.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { makeOutput } from '../output.js';

interface Flags {
  into?: string;
  database?: string;
  target?: string;
  globals?: boolean;
  asset?: string;
}

export function registerSourceRestore(program: Command, globals: () => GlobalOptions): void {
  program
    .command('source-restore')
    .description('restore a source snapshot into a database, a directory or a new bare Git repository')
    .argument('<snapshot>', 'snapshot ID, or "latest"')
    .option(
      '--into <url-or-path>',
      'postgres/mysql: server URL (its database is the target name); redis, files, command: a directory; git: a new bare repository path (env HOLDFAST_RESTORE_URL)',
    )
    .option(
      '--database <name>',
      'postgres/mysql: the database of the snapshot to restore (default: every one)',
    )
    .option('--target <name>', 'postgres/mysql: name of the database to restore into')
    .option('--globals', 'postgres: restore roles and tablespaces (globals.sql) first')
    .option('--asset <name>', 'with "latest": only snapshots of this asset')
    .action(async (ref: string, flags: Flags) => {
      const g = globals();
      const out = makeOutput(g);
      const into = flags.into ?? process.env.HOLDFAST_RESTORE_URL;
      if (!into) fail('INVALID_ARGUMENT', 'give the restore target with --into');
      const r = await restoreFromSource({
        repo: repoRef(g),
        snapshot: ref,
        into,
        database: flags.database,
        target: flags.target,
        globals: flags.globals,
        asset: flags.asset,
      });
      out.emit({
        message_type: 'summary',
        snapshot_id: r.snapshotId,
        type: r.type,
        restored: r.restored,
        notes: r.notes,
      });
      out.info(`restored ${r.type} snapshot ${r.snapshotId.slice(0, 8)}`);
      for (const line of r.restored) out.info(`  ${line}`);
      for (const line of r.notes) out.info(line);
    });
}
