/** Runs the built `holdfast` binary in a child process, as a user would. */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

export const HOLDFAST_BIN = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../bin/holdfast.js',
);

/**
 * The environment settings and Node.js options on the binary's
 * `#!/usr/bin/env -S NAME=VALUE … node …` line: the tests run it with this process's Node.js,
 * those settings and those options, as the shebang would.
 */
const shebang = shebangOf(readFileSync(HOLDFAST_BIN, 'utf8'));
export const HOLDFAST_NODE_OPTIONS = shebang.options;
export const HOLDFAST_NODE_ENV = shebang.env;

function shebangOf(script: string): { env: Record<string, string>; options: string[] } {
  const m = /^#!\/usr\/bin\/env -S((?: \w+=\S+)*) node((?: --[\w-]+(?:=\S+)?)*)\n/.exec(script);
  if (!m)
    throw new Error(
      `${HOLDFAST_BIN} does not start with "#!/usr/bin/env -S [NAME=VALUE …] node" and its options`,
    );
  const env = Object.fromEntries(
    m[1]
      .split(' ')
      .filter(Boolean)
      .map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]),
  );
  return { env, options: m[2].split(' ').filter(Boolean) };
}

const binArgv = (args: string[]) => [...HOLDFAST_NODE_OPTIONS, HOLDFAST_BIN, ...args];
const binEnv = (opts: RunOptions) => ({ ...(opts.env ?? process.env), ...HOLDFAST_NODE_ENV });

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: Buffer | string;
  cwd?: string;
}

/** This process's environment without any RESTIC_/HOLDFAST_ settings, plus `extra`. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(RESTIC|HOLDFAST)_/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

export function repoEnv(repo: string, password: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return cleanEnv({ HOLDFAST_REPOSITORY: repo, HOLDFAST_PASSWORD: password, ...extra });
}

export function holdfast(args: string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(process.execPath, binArgv(args), {
    env: binEnv(opts),
    input: opts.input,
    cwd: opts.cwd,
    maxBuffer: 1 << 30,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

/** Like holdfast() but throws with stderr when the exit code is not 0. */
export function holdfastOk(args: string[], opts: RunOptions = {}): RunResult {
  const r = holdfast(args, opts);
  if (r.code !== 0) throw new Error(`holdfast ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

/** Starts holdfast in the background (for kill tests). */
export function holdfastSpawn(args: string[], opts: RunOptions = {}) {
  return spawn(process.execPath, binArgv(args), {
    env: binEnv(opts),
    cwd: opts.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}
