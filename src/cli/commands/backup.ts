/** `holdfast backup PATH... | --stdin | --stdin-from-command -- CMD...`: restic's syntax. */
import { promises as fsp } from 'node:fs';
import type { Command } from 'commander';
import { backupFiles, backupFromCommand, backupFromStdin, type BackupRequest } from '../../app/backup.js';
import { scanTotals, type ScanTotals } from '../../app/scan.js';
import { type BackupResult, cleanTargets, newCounters } from '../../engine/archiver.js';
import { fail } from '../../errors.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { formatBytes, formatDuration, makeOutput, type Output } from '../output.js';

interface BackupFlags {
  tag: string[];
  host?: string;
  exclude: string[];
  excludeFile: string[];
  stdin?: boolean;
  stdinFilename: string;
  stdinFromCommand?: boolean;
  force?: boolean;
}

const collect = (v: string, acc: string[]) => [...acc, v];

async function readExcludeFiles(files: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    const text = await fsp
      .readFile(f, 'utf8')
      .catch(() => fail('INVALID_ARGUMENT', `cannot read exclude file ${f}`));
    out.push(
      ...text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    );
  }
  return out;
}

function summarize(out: Output, r: BackupResult, seconds: number): void {
  const c = r.counters;
  out.emit({
    message_type: 'summary',
    files_new: c.filesNew,
    files_changed: c.filesChanged,
    files_unmodified: c.filesUnmodified,
    dirs_new: c.dirsNew,
    dirs_changed: c.dirsChanged,
    dirs_unmodified: c.dirsUnmodified,
    total_files_processed: c.totalFilesProcessed,
    total_bytes_processed: c.totalBytesProcessed,
    total_duration: seconds,
    snapshot_id: r.snapshotId,
  });
  out.info(`Files:       ${c.filesNew} new, ${c.filesChanged} changed, ${c.filesUnmodified} unmodified`);
  out.info(`Dirs:        ${c.dirsNew} new, ${c.dirsChanged} changed, ${c.dirsUnmodified} unmodified`);
  out.info(
    `Processed ${c.totalFilesProcessed} files, ${formatBytes(c.totalBytesProcessed)} in ${formatDuration(seconds)}`,
  );
  out.info(`snapshot ${r.snapshotId.slice(0, 8)} saved`);
}

export function registerBackup(program: Command, globals: () => GlobalOptions): void {
  program
    .command('backup')
    .description("create a snapshot of files, of stdin, or of a command's output")
    .argument('[paths...]', 'files and directories to back up (or the command after --)')
    .option('--tag <tags>', 'add tags (comma-separated; repeatable)', collect, [])
    .option('-H, --host <host>', "host name to record instead of this machine's")
    .option('-e, --exclude <pattern>', 'exclude a pattern (repeatable)', collect, [])
    .option('--exclude-file <file>', 'read exclude patterns from a file (repeatable)', collect, [])
    .option('--stdin', 'back up what is read from standard input')
    .option('--stdin-filename <name>', 'file name for --stdin / --stdin-from-command', 'stdin')
    .option('--stdin-from-command', 'run the command given after -- and back up its standard output')
    .option('-f, --force', 'read all files even when unchanged since the parent snapshot')
    .action(async (paths: string[], flags: BackupFlags) => {
      const g = globals();
      const out = makeOutput(g);
      const counters = newCounters();
      let warnings = 0;
      const req: BackupRequest = {
        repo: repoRef(g),
        host: flags.host,
        tags: flags.tag.flatMap((t) => t.split(',')).filter(Boolean),
        counters,
        onWarning: (p, m) => {
          warnings++;
          out.warn(`warning: ${p}: ${m}`);
        },
      };
      const started = Date.now();
      const totals: ScanTotals = { files: 0, bytes: 0, done: false };
      const stop = out.progress(() => {
        const secs = (Date.now() - started) / 1000;
        const done = counters.totalBytesProcessed;
        const rate = done / Math.max(secs, 0.001);
        const eta = totals.done && rate > 0 ? ` ETA ${formatDuration((totals.bytes - done) / rate)}` : '';
        const of = totals.done ? ` of ${totals.files} files, ${formatBytes(totals.bytes)}` : '';
        return `[${formatDuration(secs)}] ${counters.totalFilesProcessed} files, ${formatBytes(done)}${of}, ${formatBytes(rate)}/s${eta}`;
      });
      let result: BackupResult;
      try {
        if (flags.stdin && flags.stdinFromCommand)
          fail('INVALID_ARGUMENT', 'use either --stdin or --stdin-from-command');
        if (flags.stdinFromCommand) {
          if (paths.length === 0) fail('INVALID_ARGUMENT', '--stdin-from-command needs a command after --');
          result = await backupFromCommand({ ...req, command: paths, filename: flags.stdinFilename });
        } else if (flags.stdin) {
          if (paths.length > 0) fail('INVALID_ARGUMENT', '--stdin takes no paths');
          result = await backupFromStdin({ ...req, filename: flags.stdinFilename });
        } else {
          if (paths.length === 0) fail('INVALID_ARGUMENT', 'nothing to back up: give at least one path');
          const excludes = [...flags.exclude, ...(await readExcludeFiles(flags.excludeFile))];
          for (const p of cleanTargets(paths, process.cwd())) {
            await fsp.lstat(p).catch(() => fail('INVALID_ARGUMENT', `${p} does not exist`));
          }
          // The totals only feed the progress line: no terminal, no second walk of the tree.
          if (process.stderr.isTTY && !out.json && !out.quiet)
            void scanTotals(cleanTargets(paths, process.cwd()), excludes, totals);
          result = await backupFiles({
            ...req,
            paths,
            excludes,
            cwd: process.cwd(),
            parent: flags.force ? false : undefined,
          });
        }
      } finally {
        stop();
      }
      summarize(out, result, (Date.now() - started) / 1000);
      if (warnings > 0) {
        out.warn(`Warning: ${warnings} files or directories could not be read; the snapshot is incomplete`);
        process.exitCode = 3;
      }
    });
}
