/**
 * restic's REST backend (`rest:http://[user:pass@]host:port/path/`), protocol v1 and v2:
 * POST /?create=true makes a repository; files are GET (with Range), HEAD, POST and DELETE
 * at /config, /keys/ID, /locks/ID, /snapshots/ID, /index/ID and /data/ID; GET /TYPE/ lists
 * (v2 with sizes when the Accept header asks for it). An append-only server answers 403 to
 * DELETE (locks excepted): that is an APPEND_ONLY error. Credentials never reach `location`.
 */
import { readFileSync } from 'node:fs';
import { fail, HoldfastError, isHoldfastError } from '../errors.js';
import {
  type Backend,
  type FileHandle,
  type FileInfo,
  type FileType,
  isId,
  relativePath,
} from './backend.js';
import { notFoundError, permanentError, transientError } from './backend-error.js';
import { appendOnlyError } from './append-only.js';
import { http1Transport, type HttpResponse, type HttpTransport } from './http-transport.js';
import type { RestOptions } from './options.js';
import { redactUrl } from './redact.js';

export const REST_V2 = 'application/vnd.x.restic.rest.v2';

const DIRS: Record<FileType, string> = {
  config: 'config',
  key: 'keys',
  lock: 'locks',
  snapshot: 'snapshots',
  index: 'index',
  pack: 'data',
};

const ZERO_ID = '0'.repeat(64);

function filePath(h: FileHandle): string {
  return h.type === 'config' ? '/config' : `/${DIRS[h.type]}/${h.name}`;
}

/** Opens `rest:URL`; `url` is the part after "rest:". */
export function restBackend(url: string, opts: RestOptions = {}): Backend {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    return fail(
      'INVALID_ARGUMENT',
      `rest:${redactUrl(url)} is not a valid URL (use rest:http://host:port/path/)`,
    );
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    fail('INVALID_ARGUMENT', `rest: the URL must start with http:// or https://, not ${base.protocol}`);
  const location = `rest:${redactUrl(base.href)}`;
  let ca = opts.caCert;
  if (typeof ca === 'string' && !ca.includes('-----BEGIN')) {
    try {
      ca = readFileSync(ca);
    } catch (err) {
      fail('INVALID_ARGUMENT', `rest: cannot read the CA certificate file ${ca}: ${(err as Error).message}`);
    }
  }
  return restBackendOver(http1Transport(base, { ca, insecureTls: opts.insecureTls }), location);
}

export interface RestProtocolOptions {
  /** Ask for v1 listings (names only); for servers without v2 and for tests. */
  listVersion?: 1 | 2;
}

/** The REST protocol over any transport (HTTP/1.1, or HTTP/2 to rclone over stdio). */
export function restBackendOver(
  transport: HttpTransport,
  location: string,
  opts: RestProtocolOptions = {},
): Backend {
  const deletable = new Map<FileType, Promise<boolean>>();

  function statusError(res: HttpResponse, what: string): HoldfastError {
    const s = res.status;
    const detail = res.body.toString('utf8').trim().slice(0, 200);
    const msg = `${what} on ${location}: HTTP ${s}${detail ? ` (${detail})` : ''}`;
    if (s === 404) return notFoundError(`${what.replace(/^\w+ /, '')} on ${location}`);
    if (s === 401)
      return permanentError(`${what} on ${location}: authentication failed (check the user and password)`);
    if (s === 408 || s === 429 || s >= 500) return transientError(msg);
    return permanentError(msg);
  }

  async function call(
    method: 'GET' | 'HEAD' | 'POST' | 'DELETE',
    path: string,
    headers?: Record<string, string>,
    body?: Uint8Array,
  ): Promise<HttpResponse> {
    return transport.request({ method, path, headers, body });
  }

  async function stat(h: FileHandle): Promise<FileInfo> {
    const res = await call('HEAD', filePath(h));
    if (res.status !== 200) throw statusError(res, `stat ${relativePath(h)}`);
    const size = Number(res.headers['content-length']);
    if (!Number.isFinite(size))
      throw transientError(`stat ${relativePath(h)} on ${location}: no size in the answer`);
    return { name: h.name, size };
  }

  async function create(): Promise<void> {
    const head = await call('HEAD', '/config');
    if (head.status === 200) fail('REPO_EXISTS', `a repository already exists at ${location}`);
    if (head.status !== 404) throw statusError(head, 'stat config');
    const res = await call('POST', '/?create=true');
    if (res.status !== 200) throw statusError(res, 'create repository');
  }

  async function save(h: FileHandle, data: Uint8Array): Promise<void> {
    const what = `save ${relativePath(h)}`;
    const res = await call('POST', filePath(h), { 'content-type': 'application/octet-stream' }, data);
    if (res.status === 200) return;
    if (res.status === 403 && h.type !== 'config') {
      // Append-only servers refuse to overwrite. A content-named file of the same size is
      // the same file (e.g. saved by an attempt whose answer was lost).
      const existing = await stat(h).catch(() => undefined);
      if (existing?.size === data.length) return;
    }
    throw statusError(res, what);
  }

  async function load(h: FileHandle, offset = 0, length?: number): Promise<Buffer> {
    const what = `load ${relativePath(h)}`;
    if (length === 0) return Buffer.alloc(0);
    const headers: Record<string, string> = {};
    if (offset > 0 || length !== undefined)
      headers.range = `bytes=${offset}-${length === undefined ? '' : offset + length - 1}`;
    const res = await call('GET', filePath(h), headers);
    let body: Buffer;
    if (res.status === 206) body = res.body;
    else if (res.status === 200)
      body = headers.range
        ? res.body.subarray(offset, length === undefined ? undefined : offset + length)
        : res.body;
    else throw statusError(res, what);
    if (length !== undefined && body.length !== length)
      throw transientError(
        `${what} on ${location}: short read (${body.length} of ${length} bytes at ${offset})`,
      );
    return body;
  }

  async function list(type: FileType): Promise<FileInfo[]> {
    if (type === 'config') return [];
    const v2 = (opts.listVersion ?? 2) === 2;
    const res = await call('GET', `/${DIRS[type]}/`, v2 ? { accept: REST_V2 } : {});
    if (res.status === 404) return [];
    if (res.status !== 200) throw statusError(res, `list ${DIRS[type]}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw transientError(`list ${DIRS[type]} on ${location}: the answer is not JSON`);
    }
    if (!Array.isArray(parsed)) throw transientError(`list ${DIRS[type]} on ${location}: unexpected answer`);
    if ((res.headers['content-type'] ?? '').startsWith(REST_V2)) {
      return (parsed as { name: string; size: number }[])
        .filter((f) => typeof f?.name === 'string' && isId(f.name))
        .map((f) => ({ name: f.name, size: Number(f.size) }));
    }
    // v1: names only; sizes come from a HEAD each.
    const names = (parsed as unknown[]).filter((n): n is string => typeof n === 'string' && isId(n));
    const out: FileInfo[] = [];
    for (let i = 0; i < names.length; i += 8) {
      const batch = names.slice(i, i + 8).map((name) =>
        stat({ type, name }).catch((err: unknown) => {
          if (isHoldfastError(err, 'NOT_FOUND')) return undefined; // removed while listing
          throw err;
        }),
      );
      for (const f of await Promise.all(batch)) if (f) out.push(f);
    }
    return out;
  }

  async function remove(h: FileHandle): Promise<void> {
    const res = await call('DELETE', filePath(h));
    if (res.status === 200 || res.status === 204) return;
    if (res.status === 403) throw appendOnlyError(location, h);
    throw statusError(res, `remove ${relativePath(h)}`);
  }

  /** Asks the server: DELETE of a name that cannot exist is 404 normally, 403 when append-only. */
  function canDelete(type: FileType): Promise<boolean> {
    const probeType = type === 'config' ? 'key' : type;
    let p = deletable.get(probeType);
    if (!p) {
      p = call('DELETE', filePath({ type: probeType, name: ZERO_ID })).then((res) => {
        if (res.status === 403) return false;
        if (res.status === 404 || res.status === 200 || res.status === 204) return true;
        throw statusError(res, `probe ${DIRS[probeType]}`);
      });
      p.catch(() => deletable.delete(probeType));
      deletable.set(probeType, p);
    }
    return p;
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
    canDelete,
    close: () => transport.close(),
  };
}
