/**
 * The holdfast command line: registers the commands, turns errors into one clear line and
 * an exit code (restic's where they exist: 1 error, 3 incomplete backup, 10 no repository,
 * 11 locked, 12 wrong password).
 */
import { Command, CommanderError } from 'commander';
import { type ErrorCode, HoldfastError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerBackup } from './commands/backup.js';
import { registerCat } from './commands/cat.js';
import { registerCopy } from './commands/copy.js';
import { registerDump } from './commands/dump.js';
import { registerInit } from './commands/init.js';
import { registerKey } from './commands/key.js';
import { registerLs } from './commands/ls.js';
import { registerRestore } from './commands/restore.js';
import { registerSourceBackup } from './commands/source-backup.js';
import { registerSourceRestore } from './commands/source-restore.js';
import { registerSnapshots } from './commands/snapshots.js';
import { registerUnlock } from './commands/unlock.js';
import { registerCheck } from './commands/check.js';
import { registerPrune } from './commands/prune.js';
import { registerForget } from './commands/forget.js';
import { registerSetup } from './commands/setup.js';
import { registerRun } from './commands/run.js';
import { registerDaemon } from './commands/daemon.js';
import { registerStatus } from './commands/status.js';
import { registerInventory } from './commands/inventory.js';
import { registerValidate } from './commands/validate.js';
import { registerSchema } from './commands/schema.js';
import { addGlobalOptions, type GlobalOptions } from './global-options.js';

const EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  REPO_NOT_FOUND: 10,
  REPO_LOCKED: 11,
  WRONG_PASSWORD: 12,
};

export function buildProgram(): Command {
  const program = addGlobalOptions(new Command('holdfast'))
    .description('backups you can prove: restic-format repositories, policies, drills and reports')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  const globals = () => program.opts<GlobalOptions>();
  for (const register of [
    registerInit,
    registerBackup,
    registerSnapshots,
    registerCheck,
    registerPrune,
    registerForget,
    registerLs,
    registerRestore,
    registerSourceBackup,
    registerSourceRestore,
    registerDump,
    registerCat,
    registerCopy,
    registerKey,
    registerUnlock,
    registerSetup,
    registerRun,
    registerDaemon,
    registerStatus,
    registerInventory,
    registerValidate,
    registerSchema,
  ]) {
    register(program, globals);
  }
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  // restic probes lock holders on this host with SIGHUP; it must not kill us.
  process.on('SIGHUP', () => undefined);
  // Interrupted: exit through process.exit so that child dump commands are stopped too,
  // unless the command handles the signal itself (run, daemon).
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(sig, () => {
      if (process.listenerCount(sig) === 1) process.exit(code);
    });
  }
  process.exitCode = 0;
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof HoldfastError) {
      process.stderr.write(`holdfast: ${err.message}\n`);
      return EXIT_CODES[err.code] ?? 1;
    }
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`holdfast: unexpected error: ${e?.message ?? String(err)}\n`);
    if (process.env.HOLDFAST_DEBUG) process.stderr.write(`${e?.stack}\n`);
    return 1;
  }
}
