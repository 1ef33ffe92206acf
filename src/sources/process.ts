/**
 * Running a client tool to completion for a source (a version query, a restore): its stdout
 * is returned, a non-zero exit or a kill raises SOURCE_FAILED with the tool's last stderr
 * lines (redacted), and stdin can be fed from a producer such as a file inside a snapshot.
 * Also private scratch directories for tools that need a file (a mirror clone, a restore).
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { watchChild } from './command.js';

export interface RunOptions {
  /** Added to the inherited environment: passwords go here, never into arguments. */
  extraEnv?: Record<string, string | undefined>;
  cwd?: string;
  /** Name used in messages (default: the command). */
  label?: string;
  redact?: (text: string) => string;
  /** Bytes for the child's stdin (e.g. a file inside a snapshot). */
  input?: AsyncIterable<Buffer> | Iterable<Buffer>;
}

const KEEP = 4000;

/** Environment for a child: the inherited one plus `extra` (undefined values removed). */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `command args`, resolves with its stdout (UTF-8) when it exits 0. */
export async function runCommand(
  command: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<string> {
  const child = spawn(command, [...args], {
    stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: childEnv(opts.extraEnv),
    cwd: opts.cwd,
  });
  const out: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  const { exit } = watchChild(child, command, opts.label ?? command, opts.redact, KEEP);
  let inputError: unknown;
  if (opts.input && child.stdin) {
    try {
      await pipeline(Readable.from(opts.input), child.stdin);
    } catch (err) {
      // EPIPE when the tool stops early: its exit status tells why. Otherwise the input failed.
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE') {
        inputError = err;
        child.kill('SIGTERM');
      }
    }
  }
  if (inputError !== undefined) {
    await exit.catch(() => undefined);
    throw inputError;
  }
  await exit;
  return Buffer.concat(out).toString('utf8');
}

/** Runs `fn` with a new private (0700) directory that is removed afterwards. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `holdfast-${prefix}-`));
  try {
    return await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
