/**
 * rclone backend (`rclone:remote:path`), as restic does it: starts `rclone serve restic
 * --stdio remote:path` and speaks the REST protocol to it as HTTP/2 over the child's stdin
 * and stdout, which reaches every provider rclone supports. The child starts on first use
 * and is stopped by close(); when it dies, errors carry the end of what it printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { fail, isHoldfastError } from '../errors.js';
import type { Backend, FileType } from './backend.js';
import { errorText, permanentError, transientError } from './backend-error.js';
import { http2StreamTransport, type HttpTransport } from './http-transport.js';
import type { RcloneOptions } from './options.js';
import { restBackendOver } from './rest.js';

const DEFAULT_ARGS = 'serve restic --stdio --b2-hard-delete';

/** Opens `rclone:REMOTE`; `remote` is the part after "rclone:". */
export function rcloneBackend(remote: string, opts: RcloneOptions = {}): Backend & { readonly pid?: number } {
  if (remote === '')
    fail('INVALID_ARGUMENT', 'rclone: give a remote and path, e.g. rclone:myremote:backups/repo');
  const location = `rclone:${remote}`;
  const program = opts.program ?? 'rclone';
  const args = [...(opts.args ?? DEFAULT_ARGS).split(/\s+/).filter(Boolean), remote];
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;

  let child: ChildProcess | undefined;
  let exited: string | undefined;
  let stderrTail = '';
  let transport: HttpTransport | undefined;
  let ready: Promise<Backend> | undefined;

  const died = () =>
    permanentError(
      `rclone (${program}) for ${location} ${exited}${stderrTail.trim() ? `: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
    );

  function start(): Promise<Backend> {
    const proc = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    child = proc;
    proc.stderr!.on('data', (c: Buffer) => (stderrTail = (stderrTail + c.toString('utf8')).slice(-2000)));
    const exitedP = new Promise<void>((resolve) => {
      proc.on('error', (err) => {
        exited = `could not start (${err.message})`;
        resolve();
      });
      proc.on('exit', (code, signal) => {
        exited ??= signal ? `was killed by ${signal}` : `exited with code ${code}`;
        resolve();
      });
    });
    const stream = Duplex.from({ readable: proc.stdout!, writable: proc.stdin! });
    stream.on('error', () => undefined); // reported through the session and the exit
    proc.stdin!.on('error', () => undefined);
    transport = http2StreamTransport(stream, location);
    const be = restBackendOver(transport, location);
    // Ready once rclone answers a first request (any status).
    let timer: NodeJS.Timeout | undefined;
    const probe = transport.request({ method: 'HEAD', path: '/config' }).then(
      () => be,
      async (err: unknown) => {
        // The stream usually fails a moment before the exit is seen: wait for it, to say why.
        await Promise.race([exitedP, new Promise((r) => setTimeout(r, 2000))]);
        if (exited !== undefined) throw died();
        throw err;
      },
    );
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(transientError(`rclone for ${location} did not answer within ${startTimeoutMs / 1000} s`)),
        startTimeoutMs,
      );
    });
    const exit = exitedP.then(() => {
      throw died();
    });
    return Promise.race([probe, timeout, exit]).finally(() => clearTimeout(timer));
  }

  async function backend(): Promise<Backend> {
    if (exited !== undefined && ready) {
      // The child is gone: a later attempt starts a new one.
      await stop();
    }
    ready ??= start();
    try {
      return await ready;
    } catch (err) {
      ready = undefined;
      throw err;
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    const t = transport;
    child = undefined;
    transport = undefined;
    ready = undefined;
    exited = undefined;
    if (t) await t.close().catch(() => undefined);
    if (!proc) return;
    proc.stdin?.end();
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<boolean>((resolve) => proc.once('exit', () => resolve(true)));
    const wait = (ms: number) =>
      Promise.race([gone, new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
    if (await wait(5000)) return;
    proc.kill('SIGTERM');
    if (await wait(5000)) return;
    proc.kill('SIGKILL');
    await gone;
  }

  async function run<T>(fn: (be: Backend) => Promise<T>): Promise<T> {
    const be = await backend();
    try {
      return await fn(be);
    } catch (err) {
      if (exited !== undefined && !isHoldfastError(err, 'NOT_FOUND') && !isHoldfastError(err, 'APPEND_ONLY'))
        throw transientError(`${errorText(err)}; ${died().message}`, err);
      throw err;
    }
  }

  return {
    /** The running rclone's process ID, if one runs. */
    get pid() {
      return child?.pid;
    },
    location,
    create: () => run((be) => be.create()),
    save: (h, data) => run((be) => be.save(h, data)),
    load: (h, offset, length) => run((be) => be.load(h, offset, length)),
    stat: (h) => run((be) => be.stat(h)),
    list: (type) => run((be) => be.list(type)),
    remove: (h) => run((be) => be.remove(h)),
    isNotFound: (err) => isHoldfastError(err, 'NOT_FOUND'),
    canDelete: (type: FileType) => run((be) => be.canDelete!(type)),
    close: stop,
  };
}
