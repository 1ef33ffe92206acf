/**
 * A command's stdout as a byte stream for the engine, with its exit checked: `finished()`
 * rejects when the command exits non-zero or is killed, so a failed dump never becomes a
 * snapshot. The last lines of stderr go into the error, for the user to act on.
 * Also the `command` source kind: `sh -c COMMAND`'s stdout stored as one file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackupResult } from '../engine/archiver.js';
import type { Repository } from '../engine/repository.js';
import type { StoredSnapshot } from '../engine/snapshots.js';
import { fail, HoldfastError } from '../errors.js';
import { openOutputSocket } from './socket-blocks.js';
import {
  backupSourceStreams,
  type SourceMeta,
  type SourceRestoreResult,
  restoreSnapshotFiles,
} from './source-snapshot.js';

export interface CommandStream {
  stdout: AsyncIterable<Buffer>;
  /** Resolves when the command exited 0; rejects with SOURCE_FAILED otherwise. */
  finished(): Promise<void>;
  kill(): void;
  /** The last part of what the command wrote to stderr so far (redacted when asked). */
  stderr(): string;
}

export interface CommandStreamOptions {
  cwd?: string;
  /** Name for messages instead of the command (e.g. "pg_dump of database app"). */
  label?: string;
  /** Applied to stderr before it goes into a message (remove secrets). */
  redact?: (text: string) => string;
}

const STDERR_KEEP = 2000;

/** "cannot run X" message: a missing tool says to install it. */
export function spawnErrorMessage(command: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return `${command} is not installed or not on PATH: install it and try again`;
  return `cannot run ${command}: ${err.message}`;
}

/** How a child ends, and the end of its stderr: `exit` rejects with SOURCE_FAILED naming both. */
export function watchChild(
  child: ChildProcess,
  command: string,
  label: string,
  redact: (text: string) => string = (t) => t,
  keep = STDERR_KEEP,
): { exit: Promise<void>; stderr(): string } {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-keep);
  });
  const exit = new Promise<void>((resolve, reject) => {
    child.on('error', (err) =>
      reject(new HoldfastError('SOURCE_FAILED', spawnErrorMessage(command, err), { cause: err })),
    );
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const text = redact(stderr.trim());
      const tail = text ? `: ${text.split('\n').slice(-5).join(' | ')}` : '';
      reject(new HoldfastError('SOURCE_FAILED', `${label} ${how}${tail}`));
    });
  });
  exit.catch(() => undefined);
  return { exit, stderr: () => redact(stderr) };
}

/**
 * Runs `command args` with its stdout read into pool blocks (socket-blocks.ts): the child
 * starts once its socket is connected, a moment after this returns.
 */
export function commandStream(
  command: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
  opts: CommandStreamOptions = {},
): CommandStream {
  const label = opts.label ?? `command ${command}`;
  let child: ChildProcess | undefined;
  let watched: ReturnType<typeof watchChild> | undefined;
  let stopped = false;
  const killGroup = () => {
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      child.kill('SIGTERM');
    }
  };
  const started = openOutputSocket()
    .catch((err: Error) =>
      fail(
        'SOURCE_FAILED',
        `cannot read the output of ${label}: ${err.message} (holdfast makes a socket in ${os.tmpdir()}: set TMPDIR to a short, writable directory)`,
        err,
      ),
    )
    .then((out) => {
      if (stopped) {
        out.close();
        throw new HoldfastError('SOURCE_FAILED', `${label} was stopped before it started`);
      }
      // Its own process group, so that killing it also stops what a shell started (their open
      // pipes would otherwise keep the stream alive until they exit on their own).
      child = spawn(command, [...args], {
        stdio: ['ignore', out.childEnd, 'pipe'],
        env,
        cwd: opts.cwd,
        detached: true,
      });
      out.childEnd.destroy(); // the child has its own copy; the stream ends when the child's closes
      // Not in our process group any more, so it must not outlive us when we exit.
      process.on('exit', killGroup);
      child.on('exit', () => process.off('exit', killGroup));
      watched = watchChild(child, command, label, opts.redact);
      return { out, exit: watched.exit };
    });
  started.catch(() => undefined);
  return {
    stdout: {
      [Symbol.asyncIterator]: () => ({
        next: async () => (await started).out.blocks.next(),
        return: () =>
          started.then(
            (s) => s.out.blocks.return!(),
            () => ({ value: undefined, done: true as const }),
          ),
      }),
    },
    finished: () => started.then((s) => s.exit),
    kill: () => {
      stopped = true;
      killGroup();
      started.then(
        (s) => s.out.close(),
        () => undefined,
      );
    },
    stderr: () => watched?.stderr() ?? '',
  };
}

/** `{ type: 'command', command, filename? }`: the command runs with `sh -c`. */
export interface CommandSourceSpec {
  type: 'command';
  command: string;
  /** File name in the snapshot (default: the asset name, else "stdout"). */
  filename?: string;
}

export function commandFileName(spec: CommandSourceSpec, asset?: string): string {
  return spec.filename ?? asset ?? 'stdout';
}

/** Stores the command's stdout as /command/FILENAME; a non-zero exit or a kill stores nothing. */
export async function backupCommandSource(
  repo: Repository,
  spec: CommandSourceSpec,
  meta: SourceMeta,
): Promise<BackupResult> {
  const name = path.posix.basename(path.posix.normalize('/' + commandFileName(spec, meta.asset)));
  let cmd: CommandStream | undefined;
  try {
    return await backupSourceStreams(repo, 'command', meta, [
      {
        path: `/command/${name}`,
        role: 'output',
        open: () => {
          cmd = commandStream('sh', ['-c', spec.command], undefined, { label: 'the backup command' });
          return cmd.stdout;
        },
        beforeCommit: () => cmd!.finished(),
      },
    ]);
  } finally {
    cmd?.kill();
  }
}

/** Writes the stored output file(s) into the directory `into`. */
export async function restoreCommandSource(
  repo: Repository,
  snap: StoredSnapshot,
  into: string,
): Promise<SourceRestoreResult> {
  return restoreSnapshotFiles(repo, snap, '/command', into);
}
