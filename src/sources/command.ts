/**
 * A command's stdout as a byte stream for the engine, with its exit checked: `finished()`
 * rejects when the command exits non-zero or is killed, so a failed dump never becomes a
 * snapshot. The last lines of stderr go into the error, for the user to act on.
 */
import { spawn } from 'node:child_process';
import { HoldfastError } from '../errors.js';

export interface CommandStream {
  stdout: AsyncIterable<Buffer>;
  /** Resolves when the command exited 0; rejects with SOURCE_FAILED otherwise. */
  finished(): Promise<void>;
  kill(): void;
}

const STDERR_KEEP = 2000;

export function commandStream(
  command: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): CommandStream {
  const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEEP);
  });
  const exit = new Promise<void>((resolve, reject) => {
    child.on('error', (err) =>
      reject(new HoldfastError('SOURCE_FAILED', `cannot run ${command}: ${err.message}`, { cause: err })),
    );
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const tail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-5).join(' | ')}` : '';
      reject(new HoldfastError('SOURCE_FAILED', `command ${command} ${how}${tail}`));
    });
  });
  exit.catch(() => undefined);
  return {
    stdout: child.stdout,
    finished: () => exit,
    kill: () => child.kill('SIGTERM'),
  };
}
