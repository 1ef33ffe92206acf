/** `holdfast source-backup --type postgres --url URL [--database D]... [--tag T]`: one source into one snapshot. */
import type { Command } from 'commander';
import { backupFromSource } from '../../app/source-backup.js';
import { newCounters } from '../../engine/archiver.js';
import { fail } from '../../errors.js';
import type { StreamSourceSpec } from '../../sources/registry.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { formatBytes, formatDuration, makeOutput } from '../output.js';

interface Flags {
  type?: string;
  url?: string;
  database: string[];
  globals: boolean;
  path: string[];
  exclude: string[];
  before: string[];
  command?: string;
  filename?: string;
  asset?: string;
  tag: string[];
  host?: string;
}

const collect = (v: string, acc: string[]) => [...acc, v];

function specFrom(f: Flags): StreamSourceSpec {
  const url = () =>
    f.url ?? process.env.HOLDFAST_SOURCE_URL ?? fail('INVALID_ARGUMENT', `--type ${f.type} needs --url`);
  const databases = f.database.length ? f.database : undefined;
  switch (f.type) {
    case 'postgres':
      return { type: 'postgres', url: url(), databases, globals: f.globals };
    case 'mysql':
      return { type: 'mysql', url: url(), databases };
    case 'redis':
      return { type: 'redis', url: url() };
    case 'git':
      return { type: 'git', url: url() };
    case 'files':
      if (f.path.length === 0) fail('INVALID_ARGUMENT', '--type files needs at least one --path');
      return {
        type: 'files',
        paths: f.path,
        exclude: f.exclude,
        before: f.before.length ? f.before : undefined,
      };
    case 'command':
      if (!f.command) fail('INVALID_ARGUMENT', '--type command needs --command');
      return { type: 'command', command: f.command, filename: f.filename };
    default:
      return fail(
        'INVALID_ARGUMENT',
        `--type must be one of postgres, mysql, redis, git, files, command${f.type ? `, not "${f.type}"` : ''}`,
      );
  }
}

export function registerSourceBackup(program: Command, globals: () => GlobalOptions): void {
  program
    .command('source-backup')
    .description('back up a database, Redis, a Git repository, files or a command into one snapshot')
    .requiredOption('--type <type>', 'postgres, mysql, redis, git, files or command')
    .option(
      '--url <url>',
      'source URL or path (env HOLDFAST_SOURCE_URL keeps a password off the command line)',
    )
    .option(
      '--database <name>',
      'database to dump (repeatable; "*" for all; default: the one in the URL)',
      collect,
      [],
    )
    .option('--no-globals', 'postgres: do not dump roles and tablespaces')
    .option('--path <path>', 'files: file or directory to back up (repeatable)', collect, [])
    .option('-e, --exclude <pattern>', 'files: exclude a pattern (repeatable)', collect, [])
    .option('--before <command>', 'files: shell command run first; its failure fails the backup', collect, [])
    .option('--command <command>', 'command: shell command whose standard output is stored')
    .option('--filename <name>', 'command: file name in the snapshot')
    .option('--asset <name>', 'asset name, recorded as tag asset:NAME')
    .option('--tag <tags>', 'add tags (comma-separated; repeatable)', collect, [])
    .option('-H, --host <host>', "host name to record instead of this machine's")
    .action(async (flags: Flags) => {
      const g = globals();
      const out = makeOutput(g);
      const counters = newCounters();
      const started = Date.now();
      let warnings = 0;
      const stop = out.progress(() => {
        const secs = (Date.now() - started) / 1000;
        return `[${formatDuration(secs)}] ${formatBytes(counters.totalBytesProcessed)}, ${formatBytes(counters.totalBytesProcessed / Math.max(secs, 0.001))}/s`;
      });
      let result;
      try {
        result = await backupFromSource({
          repo: repoRef(g),
          spec: specFrom(flags),
          asset: flags.asset,
          host: flags.host,
          tags: flags.tag.flatMap((t) => t.split(',')).filter(Boolean),
          cwd: process.cwd(),
          counters,
          onWarning: (p, m) => {
            warnings++;
            out.warn(`warning: ${p}: ${m}`);
          },
        });
      } finally {
        stop();
      }
      const seconds = (Date.now() - started) / 1000;
      out.emit({
        message_type: 'summary',
        snapshot_id: result.snapshotId,
        paths: result.snapshot.paths,
        tags: result.snapshot.tags ?? [],
        total_files_processed: counters.totalFilesProcessed,
        total_bytes_processed: counters.totalBytesProcessed,
        total_duration: seconds,
      });
      out.info(`Stored ${result.snapshot.paths.join(', ')}`);
      out.info(
        `Processed ${counters.totalFilesProcessed} files, ${formatBytes(counters.totalBytesProcessed)} in ${formatDuration(seconds)}`,
      );
      out.info(`snapshot ${result.snapshotId.slice(0, 8)} saved`);
      if (warnings > 0) {
        out.warn(`Warning: ${warnings} files or directories could not be read; the snapshot is incomplete`);
        process.exitCode = 3;
      }
    });
}
