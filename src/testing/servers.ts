/**
 * Real servers for backend tests, on loopback ports chosen free at start: OpenSSH's sshd
 * with a throwaway host key and user key, and `rclone serve restic`. Each runs in the
 * foreground as a child process, is stopped by stop(), and keeps its files in a temp dir.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { makeTempDir, removeDir } from './tmp.js';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a server and waits until its own output says it listens (a port that merely
 * answers may belong to another process that took it in between). False when it exits.
 */
async function spawnUntilReady(
  cmd: string,
  args: string[],
  ready: (log: string) => boolean,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; ok: boolean; log: () => string }> {
  let log = '';
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const ok = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 15_000);
    const onData = (c: Buffer) => {
      log = (log + c.toString()).slice(-4000);
      if (ready(log)) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!ok) await stopChild(child);
  return { child, ok, log: () => log };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

export interface Sshd {
  port: number;
  dir: string;
  /** Private key file of a user allowed to log in as the current user. */
  userKey: string;
  /** A known_hosts file naming the server's host key for [127.0.0.1]:port. */
  knownHosts: string;
  /** The server's public host key line ("ssh-ed25519 AAAA…"). */
  hostKeyPub: string;
  user: string;
  /** Process ID of the listening sshd (its children serve the connections). */
  pid: number;
  stop(): Promise<void>;
}

export async function startSshd(): Promise<Sshd> {
  const dir = makeTempDir('sshd');
  const key = (name: string) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path.join(dir, name)]);
    return path.join(dir, name);
  };
  const hostKey = key('host_key');
  const userKey = key('user_key');
  fs.copyFileSync(`${userKey}.pub`, path.join(dir, 'authorized_keys'));
  const hostKeyPub = fs.readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHosts = path.join(dir, 'known_hosts');
  const config = path.join(dir, 'sshd_config');
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKeyPub}\n`);
    fs.writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'Subsystem sftp internal-sftp',
        'LogLevel INFO',
        '',
      ].join('\n'),
    );
    const r = await spawnUntilReady('/usr/sbin/sshd', ['-f', config, '-D', '-e'], (log) =>
      log.includes(`Server listening on 127.0.0.1 port ${port}.`),
    );
    if (r.ok) child = r.child;
    else if (attempt >= 3) {
      removeDir(dir);
      throw new Error(`sshd did not start: ${r.log()}`);
    }
  }
  const server = child;
  const user = execFileSync('id', ['-un']).toString().trim();
  return {
    port,
    dir,
    userKey,
    knownHosts,
    hostKeyPub,
    user,
    pid: server.pid!,
    async stop() {
      await stopChild(server);
      removeDir(dir);
    },
  };
}

export interface RcloneServer {
  port: number;
  /** The directory served. */
  root: string;
  url: string;
  stop(): Promise<void>;
}

/**
 * `rclone serve restic` over a directory; extra arguments such as --append-only, --user.
 * Ready when rclone itself says it serves (not merely when the port answers: another
 * process may have taken the port in between); a lost port race starts over on another.
 */
export async function startRcloneServe(root: string, extra: string[] = []): Promise<RcloneServer> {
  fs.mkdirSync(root, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const r = await spawnUntilReady(
      'rclone',
      ['serve', 'restic', '--addr', `127.0.0.1:${port}`, ...extra, root],
      (log) => log.includes('Serving restic REST API on http') && log.includes(`:${port}/`),
      { ...process.env, RCLONE_CONFIG: rcloneConfigFile() },
    );
    if (r.ok) {
      const scheme = extra.includes('--cert') ? 'https' : 'http';
      return { port, root, url: `${scheme}://127.0.0.1:${port}/`, stop: () => stopChild(r.child) };
    }
    if (attempt >= 3) throw new Error(`rclone serve restic did not start: ${r.log()}`);
  }
}

let configFile: string | undefined;

/** An empty rclone config (so rclone does not look for the user's); `:local:` remotes need none. */
export function rcloneConfigFile(): string {
  if (!configFile) {
    configFile = path.join(makeTempDir('rclone-config'), 'rclone.conf');
    fs.writeFileSync(configFile, '');
    process.on('exit', () => removeDir(path.dirname(configFile!)));
  }
  return configFile;
}
