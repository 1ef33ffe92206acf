/**
 * SFTP backend over ssh2 (`sftp:user@host:/path`, `sftp://user@host:port//path`, restic's
 * forms). Key authentication (a key file or ssh-agent), the server's key checked against a
 * known_hosts file, files written under a temporary name then renamed (posix-rename), and
 * `data/xx` directories made on demand. One connection, opened on first use and opened
 * again after it drops. The URL is checked when the backend is made; ssh2 itself is imported
 * on the first connection (memoised), so commands that use no sftp location never load it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client as SshClient, SFTPWrapper, Stats } from 'ssh2';
import { fail, HoldfastError, isHoldfastError } from '../errors.js';
import {
  type Backend,
  type FileHandle,
  type FileInfo,
  type FileType,
  isId,
  relativePath,
  TYPE_DIRS,
} from './backend.js';
import { notFoundError, permanentError, transientError } from './backend-error.js';
import { checkKnownHost, fingerprint, hostEntryName, keyType } from './known-hosts.js';
import type { SftpOptions } from './options.js';
import { redactUrl } from './redact.js';

export interface SftpTarget {
  user?: string;
  host: string;
  port: number;
  /** Absolute, or relative to the user's home directory. */
  path: string;
}

/** Parses restic's two sftp URL forms. */
export function parseSftpUrl(url: string): SftpTarget {
  const bad = (why: string): never =>
    fail(
      'INVALID_ARGUMENT',
      `${redactUrl(url)}: ${why} (use sftp:user@host:/path or sftp://user@host:port//path)`,
    );
  if (url.startsWith('sftp://')) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return bad('not a valid URL');
    }
    const p = decodeURIComponent(u.pathname.slice(1));
    if (!u.hostname) bad('no host');
    if (p === '') bad('no path');
    if (u.password) bad('passwords are not supported in sftp URLs, use a key');
    return {
      user: u.username ? decodeURIComponent(u.username) : undefined,
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : 22,
      path: path.posix.normalize(p),
    };
  }
  if (!url.startsWith('sftp:')) bad('not an sftp URL');
  let rest = url.slice('sftp:'.length);
  let user: string | undefined;
  const at = rest.lastIndexOf('@', rest.startsWith('[') ? 0 : rest.indexOf(':'));
  if (at > 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let host: string;
  let dir: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') return bad('an IPv6 host must be written [addr]:path');
    host = rest.slice(1, close);
    dir = rest.slice(close + 2);
  } else {
    const colon = rest.indexOf(':');
    if (colon < 0) return bad('no path');
    host = rest.slice(0, colon);
    dir = rest.slice(colon + 1);
  }
  if (!host) bad('no host');
  if (!dir) bad('no path');
  return { user, host, port: 22, path: path.posix.normalize(dir) };
}

// SFTP status codes (draft-ietf-secsh-filexfer-02).
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

type Ssh2 = typeof import('ssh2');

let ssh2Loading: Promise<Ssh2> | undefined;

/** The ssh2 module, imported on the first connection (once per process). */
function loadSsh2(): Promise<Ssh2> {
  // ssh2 is CommonJS: its exports are the namespace's `default` (typed as the module itself).
  ssh2Loading ??= import('ssh2').then((m) => (m as unknown as { default: Ssh2 }).default);
  return ssh2Loading;
}

interface Conn {
  client: SshClient;
  sftp: SFTPWrapper;
  fsync: boolean;
  posixRename: boolean;
}

const CHUNK = 128 * 1024;
const IN_FLIGHT = 8;

function defaultKeyFile(): string | undefined {
  const dir = path.join(os.homedir(), '.ssh');
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => path.join(dir, f)).find((f) => existsSync(f));
}

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'root';
  }
}

export function sftpBackend(url: string, opts: SftpOptions = {}): Backend {
  const t = parseSftpUrl(url);
  const user = t.user ?? opts.defaultUser ?? currentUser();
  const root = t.path;
  const hostName = hostEntryName(t.host, t.port);
  const hostPart = t.host.includes(':') ? `[${t.host}]` : t.host;
  const location =
    t.port === 22 ? `sftp:${user}@${hostPart}:${root}` : `sftp://${user}@${hostPart}:${t.port}/${root}`;
  const full = (h: FileHandle) => path.posix.join(root, relativePath(h));
  let conn: Promise<Conn> | undefined;

  function readKey(ssh2: Ssh2): { privateKey?: Buffer; keyFile?: string } {
    const keyFile = opts.keyFile ?? defaultKeyFile();
    if (!keyFile) return {};
    let privateKey: Buffer;
    try {
      privateKey = readFileSync(keyFile);
    } catch (err) {
      return fail('INVALID_ARGUMENT', `sftp: cannot read the key file ${keyFile}: ${(err as Error).message}`);
    }
    const parsed = ssh2.utils.parseKey(privateKey);
    if (parsed instanceof Error) {
      const why = /passphrase/i.test(parsed.message)
        ? 'it is protected by a passphrase: load it into ssh-agent instead'
        : parsed.message;
      fail('INVALID_ARGUMENT', `sftp: cannot use the key file ${keyFile}: ${why}`);
    }
    return { privateKey, keyFile };
  }

  async function connect(): Promise<Conn> {
    const ssh2 = await loadSsh2();
    const { privateKey, keyFile } = readKey(ssh2);
    if (!privateKey && !opts.agent)
      fail(
        'INVALID_ARGUMENT',
        'sftp: no key to log in with: give -o sftp.key=FILE (or HOLDFAST_SFTP_KEY) or run ssh-agent',
      );
    const knownHostsFile = opts.knownHostsFile ?? path.join(os.homedir(), '.ssh', 'known_hosts');
    let knownHosts = '';
    try {
      knownHosts = readFileSync(knownHostsFile, 'utf8');
    } catch {
      knownHosts = '';
    }
    let hostKeyError: HoldfastError | undefined;
    const verify = (key: Buffer): boolean => {
      const verdict = checkKnownHost(knownHosts, t.host, t.port, key);
      const id = `${keyType(key)} ${fingerprint(key)}`;
      if (verdict === 'known') return true;
      if (verdict === 'unknown' && opts.acceptUnknownHost) return true;
      const portFlag = t.port === 22 ? '' : `-p ${t.port} `;
      hostKeyError = new HoldfastError(
        'HOST_KEY',
        verdict === 'unknown'
          ? `sftp: the host key of ${hostName} is not in ${knownHostsFile} (the server offers ${id}). ` +
              `If that fingerprint is right, add it (ssh-keyscan ${portFlag}${t.host} >> ${knownHostsFile}) ` +
              'or pass -o sftp.accept-unknown-host=true'
          : verdict === 'changed'
            ? `sftp: the host key of ${hostName} does not match ${knownHostsFile} (the server offers ${id}): ` +
              'someone may be intercepting the connection, or the server was reinstalled. Verify the key, then update the file'
            : `sftp: the host key of ${hostName} (${id}) is revoked in ${knownHostsFile}`,
      );
      return false;
    };

    return new Promise<Conn>((resolve, reject) => {
      const client = new ssh2.Client();
      let settled = false;
      client.on('ready', () => {
        client.sftp((err, sftp) => {
          if (err) {
            settled = true;
            client.end();
            return reject(
              transientError(`sftp: ${location}: cannot start the sftp subsystem: ${err.message}`, err),
            );
          }
          const ext = (sftp as unknown as { _extensions: Record<string, string> })._extensions ?? {};
          const c: Conn = {
            client,
            sftp,
            fsync: ext['fsync@openssh.com'] === '1',
            posixRename: ext['posix-rename@openssh.com'] === '1',
          };
          settled = true;
          resolve(c);
        });
      });
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        drop(client);
        if (settled) return;
        settled = true;
        if (hostKeyError) return reject(hostKeyError);
        if (err.level === 'client-authentication')
          return reject(
            permanentError(
              `sftp: ${user}@${hostName} refused the login (tried ${[opts.agent ? 'ssh-agent' : '', keyFile ? `key ${keyFile}` : ''].filter(Boolean).join(' and ')}): ` +
                "check that the public key is in the server's authorized_keys",
            ),
          );
        if (err.level === 'client-dns')
          return reject(permanentError(`sftp: cannot resolve host ${t.host}: ${err.message}`, err));
        reject(transientError(`sftp: cannot connect to ${hostName}: ${err.message}`, err));
      });
      client.on('close', () => {
        drop(client);
        if (!settled) {
          settled = true;
          reject(hostKeyError ?? transientError(`sftp: ${hostName} closed the connection`));
        }
      });
      client.connect({
        host: t.host,
        port: t.port,
        username: user,
        privateKey,
        agent: opts.agent,
        hostVerifier: verify,
        readyTimeout: 20_000,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
      });
    });
  }

  /** Forgets a connection that ended, so the next operation opens a new one. */
  function drop(client: SshClient): void {
    const current = conn;
    current?.then(
      (c) => {
        if (c.client === client && conn === current) conn = undefined;
      },
      () => undefined,
    );
  }

  async function session(): Promise<Conn> {
    const c = (conn ??= connect());
    try {
      return await c;
    } catch (err) {
      if (conn === c) conn = undefined;
      throw err;
    }
  }

  function call<T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        fn((err, value) => (err ? reject(err) : resolve(value as T)));
      } catch (err) {
        reject(err);
      }
    });
  }

  const sftpCode = (err: unknown) => (err as { code?: unknown })?.code;

  function wrap(what: string, err: unknown): Error {
    if (err instanceof HoldfastError) return err;
    const code = sftpCode(err);
    const msg = `sftp: ${what} on ${location}: ${(err as Error)?.message ?? String(err)}`;
    if (code === NO_SUCH_FILE) return notFoundError(`${what.replace(/^\w+ /, '')} on ${location}`);
    if (code === PERMISSION_DENIED) return permanentError(`${msg} (permission denied)`, err);
    return transientError(msg, err);
  }

  async function op<T>(what: string, fn: (c: Conn) => Promise<T>): Promise<T> {
    const c = await session();
    try {
      return await fn(c);
    } catch (err) {
      throw wrap(what, err);
    }
  }

  async function mkdirs(c: Conn, dir: string): Promise<void> {
    try {
      await call<void>((cb) => c.sftp.mkdir(dir, { mode: 0o700 }, cb));
    } catch (err) {
      const st = await call<Stats>((cb) => c.sftp.stat(dir, cb)).catch(() => undefined);
      if (st?.isDirectory()) return;
      const parent = path.posix.dirname(dir);
      if (parent === dir || sftpCode(err) !== NO_SUCH_FILE) throw err;
      await mkdirs(c, parent);
      await call<void>((cb) => c.sftp.mkdir(dir, { mode: 0o700 }, cb)).catch(async (e2: unknown) => {
        const again = await call<Stats>((cb) => c.sftp.stat(dir, cb)).catch(() => undefined);
        if (!again?.isDirectory()) throw e2;
      });
    }
  }

  async function statPath(c: Conn, p: string): Promise<Stats | undefined> {
    try {
      return await call<Stats>((cb) => c.sftp.stat(p, cb));
    } catch (err) {
      if (sftpCode(err) === NO_SUCH_FILE) return undefined;
      throw err;
    }
  }

  async function create(): Promise<void> {
    await op('create', async (c) => {
      if (await statPath(c, path.posix.join(root, 'config')))
        fail('REPO_EXISTS', `a repository already exists at ${location}`);
      await mkdirs(c, root);
      const dirs = Object.values(TYPE_DIRS).map((d) => path.posix.join(root, d));
      await Promise.all(dirs.map((d) => mkdirs(c, d)));
      const subs: string[] = [];
      for (let i = 0; i < 256; i++) subs.push(path.posix.join(root, 'data', i.toString(16).padStart(2, '0')));
      for (let i = 0; i < subs.length; i += 32)
        await Promise.all(subs.slice(i, i + 32).map((d) => mkdirs(c, d)));
    });
  }

  async function writeAll(c: Conn, handle: Buffer, data: Uint8Array): Promise<void> {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let next = 0;
    const worker = async () => {
      while (next < buf.length) {
        const off = next;
        const len = Math.min(CHUNK, buf.length - off);
        next += len;
        await call<void>((cb) => c.sftp.write(handle, buf, off, len, off, cb));
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  }

  async function save(h: FileHandle, data: Uint8Array): Promise<void> {
    const final = full(h);
    const tmp = `${final}-tmp-${randomBytes(8).toString('hex')}`;
    await op(`save ${relativePath(h)}`, async (c) => {
      let handle: Buffer | undefined;
      try {
        try {
          handle = await call<Buffer>((cb) => c.sftp.open(tmp, 'wx', 0o600, cb));
        } catch (err) {
          if (sftpCode(err) !== NO_SUCH_FILE) throw err;
          await mkdirs(c, path.posix.dirname(final));
          handle = await call<Buffer>((cb) => c.sftp.open(tmp, 'wx', 0o600, cb));
        }
        await writeAll(c, handle, data);
        if (c.fsync) await call<void>((cb) => c.sftp.ext_openssh_fsync(handle!, (e) => cb(e)));
        const hd = handle;
        handle = undefined;
        await call<void>((cb) => c.sftp.close(hd, cb));
        if (c.posixRename) await call<void>((cb) => c.sftp.ext_openssh_rename(tmp, final, cb));
        else {
          try {
            await call<void>((cb) => c.sftp.rename(tmp, final, cb));
          } catch (err) {
            // Plain SFTP rename refuses to replace: a same-size content-named file is the same file.
            const st = await statPath(c, final);
            if (!st || st.size !== data.length || h.type === 'config') throw err;
            await call<void>((cb) => c.sftp.unlink(tmp, cb)).catch(() => undefined);
          }
        }
        await call<void>((cb) => c.sftp.chmod(final, 0o400, cb)).catch(() => undefined);
      } catch (err) {
        if (handle) {
          const hd = handle;
          await call<void>((cb) => c.sftp.close(hd, cb)).catch(() => undefined);
        }
        await call<void>((cb) => c.sftp.unlink(tmp, cb)).catch(() => undefined);
        throw err;
      }
    });
  }

  async function load(h: FileHandle, offset = 0, length?: number): Promise<Buffer> {
    const what = `load ${relativePath(h)}`;
    return op(what, async (c) => {
      const handle = await call<Buffer>((cb) => c.sftp.open(full(h), 'r', cb));
      try {
        let want = length;
        if (want === undefined) {
          const st = await call<Stats>((cb) => c.sftp.fstat(handle, cb));
          want = Math.max(0, st.size - offset);
        }
        const buf = Buffer.alloc(want);
        let next = 0;
        let eof = false;
        const worker = async () => {
          while (next < want! && !eof) {
            const start = next;
            const len = Math.min(CHUNK, want! - start);
            next += len;
            let got = 0;
            while (got < len) {
              const n = await call<number>((cb) =>
                c.sftp.read(handle, buf, start + got, len - got, offset + start + got, (e, bytes) =>
                  cb(e, bytes),
                ),
              );
              if (!n) {
                eof = true;
                throw transientError(
                  `sftp: ${what} on ${location}: short read (file ends before byte ${offset + start + got})`,
                );
              }
              got += n;
            }
          }
        };
        if (want > 0) await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
        return buf;
      } finally {
        await call<void>((cb) => c.sftp.close(handle, cb)).catch(() => undefined);
      }
    });
  }

  async function stat(h: FileHandle): Promise<FileInfo> {
    return op(`stat ${relativePath(h)}`, async (c) => {
      const st = await call<Stats>((cb) => c.sftp.stat(full(h), cb));
      return { name: h.name, size: st.size };
    });
  }

  async function listDir(c: Conn, dir: string): Promise<FileInfo[]> {
    let entries: { filename: string; attrs: Stats }[];
    try {
      entries = await call((cb) => c.sftp.readdir(dir, cb));
    } catch (err) {
      if (sftpCode(err) === NO_SUCH_FILE) return [];
      throw err;
    }
    return entries
      .filter((e) => isId(e.filename) && (e.attrs.isFile?.() ?? true))
      .map((e) => ({ name: e.filename, size: e.attrs.size }));
  }

  async function list(type: FileType): Promise<FileInfo[]> {
    if (type === 'config') return [];
    return op(`list ${type}`, async (c) => {
      const dir = path.posix.join(root, TYPE_DIRS[type]);
      if (type !== 'pack') return listDir(c, dir);
      let subs: { filename: string }[];
      try {
        subs = await call((cb) => c.sftp.readdir(dir, cb));
      } catch (err) {
        if (sftpCode(err) === NO_SUCH_FILE) return [];
        throw err;
      }
      const names = subs.map((s) => s.filename).filter((s) => /^[0-9a-f]{2}$/.test(s));
      const out: FileInfo[] = [];
      for (let i = 0; i < names.length; i += 32) {
        const batch = await Promise.all(
          names.slice(i, i + 32).map((s) => listDir(c, path.posix.join(dir, s))),
        );
        for (const b of batch) out.push(...b);
      }
      return out;
    });
  }

  async function remove(h: FileHandle): Promise<void> {
    await op(`remove ${relativePath(h)}`, (c) => call<void>((cb) => c.sftp.unlink(full(h), cb)));
  }

  async function close(): Promise<void> {
    const c = conn;
    conn = undefined;
    const open = await c?.catch(() => undefined);
    if (!open) return;
    await new Promise<void>((resolve) => {
      open.client.once('close', () => resolve());
      open.client.end();
      setTimeout(resolve, 2000).unref();
    });
  }

  return {
    location,
    create,
    save,
    load,
    stat,
    list,
    remove,
    isNotFound: (err) => isHoldfastError(err, 'NOT_FOUND'),
    close,
  };
}
