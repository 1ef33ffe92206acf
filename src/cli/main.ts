/**
 * The holdfast command line: registers the commands, turns errors into one clear line and
 * an exit code (restic's where they exist: 1 error, 3 incomplete backup, 10 no repository,
 * 11 locked, 12 wrong password).
 */
import { Command, CommanderError } from 'commander';
import { type ErrorCode, HoldfastError } from '../errors.js';
import { VERSION } from '../version.js';
import { addGlobalOptions, type GlobalOptions } from './global-options.js';

const EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  REPO_NOT_FOUND: 10,
  REPO_LOCKED: 11,
  WRONG_PASSWORD: 12,
};

type Register = (program: Command, globals: () => GlobalOptions) => void;

/**
 * The commands in help order, each loaded only when needed: a command's dependencies (cloud
 * SDKs, database drivers, the policy schema) cost about a second to import, which a quick
 * command like an unchanged backup should not pay for the others.
 */
const COMMANDS: [string, () => Promise<Register>][] = [
  ['init', async () => (await import('./commands/init.js')).registerInit],
  ['backup', async () => (await import('./commands/backup.js')).registerBackup],
  ['snapshots', async () => (await import('./commands/snapshots.js')).registerSnapshots],
  ['check', async () => (await import('./commands/check.js')).registerCheck],
  ['prune', async () => (await import('./commands/prune.js')).registerPrune],
  ['forget', async () => (await import('./commands/forget.js')).registerForget],
  ['ls', async () => (await import('./commands/ls.js')).registerLs],
  ['restore', async () => (await import('./commands/restore.js')).registerRestore],
  ['source-backup', async () => (await import('./commands/source-backup.js')).registerSourceBackup],
  ['source-restore', async () => (await import('./commands/source-restore.js')).registerSourceRestore],
  ['dump', async () => (await import('./commands/dump.js')).registerDump],
  ['cat', async () => (await import('./commands/cat.js')).registerCat],
  ['copy', async () => (await import('./commands/copy.js')).registerCopy],
  ['key', async () => (await import('./commands/key.js')).registerKey],
  ['unlock', async () => (await import('./commands/unlock.js')).registerUnlock],
  ['setup', async () => (await import('./commands/setup.js')).registerSetup],
  ['run', async () => (await import('./commands/run.js')).registerRun],
  ['daemon', async () => (await import('./commands/daemon.js')).registerDaemon],
  ['status', async () => (await import('./commands/status.js')).registerStatus],
  ['inventory', async () => (await import('./commands/inventory.js')).registerInventory],
  ['validate', async () => (await import('./commands/validate.js')).registerValidate],
  ['schema', async () => (await import('./commands/schema.js')).registerSchema],
];

/** The command word in argv (skipping global options and their values), if any. */
export function commandWord(argv: readonly string[]): string | undefined {
  const globalsOnly = addGlobalOptions(new Command());
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return undefined;
    if (a.startsWith('-')) {
      if (a.includes('=')) continue;
      const o = globalsOnly.options.find((x) => x.short === a || x.long === a);
      if (o && (o.required || o.optional)) i++;
      continue;
    }
    return a;
  }
  return undefined;
}

/** True when argv asks only for the version (no command word): no command needs loading. */
export function versionOnly(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const head = end < 0 ? argv : argv.slice(0, end);
  return commandWord(argv) === undefined && head.some((a) => a === '-V' || a === '--version');
}

/**
 * The program with every command, or (given a known command word) with just that one, or
 * with none when only the version is asked for.
 */
export async function buildProgram(only?: string, noCommands = false): Promise<Command> {
  const program = addGlobalOptions(new Command('holdfast'))
    .description('backups you can prove: restic-format repositories, policies, drills and reports')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  const globals = () => program.opts<GlobalOptions>();
  const known = COMMANDS.some(([name]) => name === only);
  const chosen = noCommands ? [] : known ? COMMANDS.filter(([name]) => name === only) : COMMANDS;
  const registers = await Promise.all(chosen.map(([, load]) => load()));
  for (const register of registers) register(program, globals);
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
    const program = await buildProgram(commandWord(argv), versionOnly(argv));
    await program.parseAsync(argv, { from: 'user' });
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
