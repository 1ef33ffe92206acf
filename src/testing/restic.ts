/** Runs the real `restic` binary in tests, with a clean environment. */
import { execFileSync, spawnSync } from 'node:child_process';
import { cleanEnv } from './cli.js';

export interface ResticOptions {
  repo: string;
  password?: string;
  input?: Buffer | string;
  cwd?: string;
}

function env(opts: ResticOptions): NodeJS.ProcessEnv {
  return cleanEnv({
    RESTIC_PASSWORD: opts.password ?? 'test',
    RESTIC_REPOSITORY: opts.repo,
    RESTIC_CACHE_DIR: '/tmp/holdfast-test-restic-cache',
  });
}

/** Runs restic and returns stdout as a Buffer; throws with stderr on a non-zero exit. */
export function resticBuffer(args: string[], opts: ResticOptions): Buffer {
  try {
    return execFileSync('restic', ['--no-cache', ...args], {
      env: env(opts),
      input: opts.input,
      cwd: opts.cwd,
      maxBuffer: 1 << 30,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { status?: number; stderr?: Buffer };
    throw new Error(`restic ${args.join(' ')} exited ${e.status}: ${e.stderr?.toString('utf8')}`, {
      cause: err,
    });
  }
}

export function restic(args: string[], opts: ResticOptions): string {
  return resticBuffer(args, opts).toString('utf8');
}

export function resticJson<T>(args: string[], opts: ResticOptions): T {
  return JSON.parse(restic([...args, '--json'], opts)) as T;
}

/** Runs restic and returns its exit code and output, without throwing. */
export function resticStatus(
  args: string[],
  opts: ResticOptions,
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('restic', ['--no-cache', ...args], {
    env: env(opts),
    input: opts.input,
    cwd: opts.cwd,
    maxBuffer: 1 << 30,
  });
  return { code: r.status ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}
