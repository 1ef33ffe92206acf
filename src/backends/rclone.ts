/**
 * rclone backend (`rclone:remote:path`), as restic does it: starts `rclone serve restic
 * --stdio remote:path` and speaks the REST protocol to it as HTTP/2 over the child's stdin
 * and stdout, which reaches every provider rclone supports. Both are one end of a Unix socket
 * pair (rclone-channel.ts), so HTTP/2 runs on a native socket. The child starts on first use
 * and is stopped by close(); when it dies, errors carry the end of what it printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { fail, isHoldfastError } from '../errors.js';
import type { Backend, FileType } from './backend.js';
import { errorText, permanentError, transientError } from './backend-error.js';
import { http2StreamTransport, type HttpTransport } from './http-transport.js';
import type { RcloneOptions } from './options.js';
import { socketChannel } from './rclone-channel.js';
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
  let socket: Socket | undefined;
  let exited: string | undefined;
  let stderrTail = '';
  let transport: HttpTransport | undefined;
  let ready: Promise<Backend> | undefined;
  let stops = 0; // counts stop() calls, to notice one made while start() awaits the socket

  const died = () =>
    permanentError(
      `rclone (${program}) for ${location} ${exited}${stderrTail.trim() ? `: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
    );

  async function start(): Promise<Backend> {
    const stopsBefore = stops;
    const channel = await socketChannel().catch((err: unknown) => {
      throw transientError(
        `rclone for ${location}: cannot make a socket to talk to it: ${errorText(err)}`,
        err,
      );
    });
    let proc: ChildProcess;
    try {
      if (stops !== stopsBefore) throw permanentError(`rclone for ${location} was closed while starting`);
      // rclone reads requests from stdin and writes answers to stdout: both are its socket end.
      proc = spawn(program, args, { stdio: [channel.theirs, channel.theirs, 'pipe'] });
    } catch (err) {
      channel.ours.destroy();
      throw err;
    } finally {
      channel.theirs.destroy(); // the child holds its own copy
    }
    child = proc;
    socket = channel.ours;
    socket.on('error', () => undefined); // reported through the session and the exit
    proc.stderr!.on('data', (c: Buffer) => (stderrTail = (stderrTail + c.toString('utf8')).slice(-2000)));
    const exitedP = new Promise<void>((resolve) => {
      proc.on('error', (err) => {
        exited = `could not start (${err.message})`;
        resolve();
      });
      proc.on('exit', (code, signal) => {
        exited ??= signal ? `was killed by ${signal}` : `exited with code ${code}`;
        // Its last words may still be in the stderr pipe: 'close' comes once that is read.
        setTimeout(resolve, 1000).unref();
      });
      proc.on('close', () => resolve());
    });
    transport = http2StreamTransport(socket, location);
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
    stops++;
    const proc = child;
    const t = transport;
    const sock = socket;
    child = undefined;
    socket = undefined;
    transport = undefined;
    ready = undefined;
    exited = undefined;
    if (t) await t.close().catch(() => undefined);
    sock?.end(); // rclone stops at the end of its input
    if (!proc) return;
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
