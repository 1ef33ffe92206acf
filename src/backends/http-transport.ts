/**
 * The HTTP request the REST backend needs, over two transports: HTTP/1.1 or HTTPS to a
 * server (keep-alive agent, optional extra CA), and HTTP/2 without TLS over any duplex
 * stream (how restic talks to `rclone serve restic --stdio`). Network failures become
 * transient BACKEND errors; bodies are checked against Content-Length.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import { transientError } from './backend-error.js';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  /** Path and query below the base URL, starting with "/". */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

export interface HttpTransport {
  request(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

function checkLength(method: string, headers: HttpResponse['headers'], body: Buffer, what: string): void {
  const declared = headers['content-length'];
  if (method !== 'HEAD' && declared !== undefined && Number(declared) !== body.length)
    throw transientError(`${what}: connection closed after ${body.length} of ${declared} bytes`);
}

export interface Http1Options {
  /** PEM certificates trusted in addition to the system's. */
  ca?: string | Buffer;
  insecureTls?: boolean;
  /** Idle time on a socket before the request fails (default 2 minutes). */
  socketTimeoutMs?: number;
}

/** HTTP/1.1 (or HTTPS) to `base`, whose credentials, if any, go in an Authorization header. */
export function http1Transport(base: URL, opts: Http1Options = {}): HttpTransport {
  const tls = base.protocol === 'https:';
  const agent = tls
    ? new https.Agent({
        keepAlive: true,
        ca: opts.ca,
        rejectUnauthorized: !opts.insecureTls,
      })
    : new http.Agent({ keepAlive: true });
  const auth =
    base.username || base.password
      ? 'Basic ' +
        Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString(
          'base64',
        )
      : undefined;
  const prefix = base.pathname.replace(/\/+$/, '');
  const timeoutMs = opts.socketTimeoutMs ?? 120_000;
  const where = `${base.protocol}//${base.host}`;

  function request(req: HttpRequest): Promise<HttpResponse> {
    const what = `${req.method} ${prefix}${req.path} on ${where}`;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...req.headers };
      if (auth) headers.authorization = auth;
      if (req.body) headers['content-length'] = String(req.body.length);
      const r = (tls ? https : http).request(
        {
          protocol: base.protocol,
          hostname: base.hostname.replace(/^\[|\]$/g, ''),
          port: base.port || (tls ? 443 : 80),
          method: req.method,
          path: prefix + req.path,
          headers,
          agent,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(transientError(`${what}: ${err.message}`, err)));
          res.on('aborted', () => reject(transientError(`${what}: the server closed the connection`)));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            const h = res.headers as Record<string, string | undefined>;
            try {
              checkLength(req.method, h, body, what);
              resolve({ status: res.statusCode ?? 0, headers: h, body });
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      r.on('timeout', () => r.destroy(transientError(`${what}: no answer for ${timeoutMs / 1000} s`)));
      r.on('error', (err: NodeJS.ErrnoException) => {
        if (err.name === 'HoldfastError') reject(err);
        else {
          const e = transientError(`${what}: ${err.message}`, err);
          reject(e);
        }
      });
      r.end(req.body);
    });
  }

  return {
    request,
    close: async () => agent.destroy(),
  };
}

/** HTTP/2 without TLS over one duplex stream (prior knowledge, no upgrade). */
export function http2StreamTransport(stream: Duplex, label: string): HttpTransport {
  let failure: Error | undefined;
  const session = http2.connect('http://localhost', { createConnection: () => stream });
  session.on('error', (err) => (failure = err));
  session.on('close', () => (failure ??= new Error('the connection was closed')));

  function request(req: HttpRequest): Promise<HttpResponse> {
    const what = `${req.method} ${req.path} on ${label}`;
    if (failure) return Promise.reject(transientError(`${what}: ${failure.message}`, failure));
    return new Promise((resolve, reject) => {
      const headers: http2.OutgoingHttpHeaders = { ':method': req.method, ':path': req.path, ...req.headers };
      if (req.body) headers['content-length'] = req.body.length;
      const s = session.request(headers, { endStream: req.body === undefined });
      let status = 0;
      let h: Record<string, string | undefined> = {};
      const chunks: Buffer[] = [];
      s.on('response', (rh) => {
        status = Number(rh[':status']);
        h = rh as Record<string, string | undefined>;
      });
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', (err) => reject(transientError(`${what}: ${err.message}`, err)));
      s.on('close', () => reject(transientError(`${what}: the stream closed before the answer ended`)));
      s.on('end', () => {
        const body = Buffer.concat(chunks);
        if (status === 0) return reject(transientError(`${what}: the stream ended without an answer`));
        try {
          checkLength(req.method, h, body, what);
          resolve({ status, headers: h, body });
        } catch (err) {
          reject(err);
        }
      });
      if (req.body) s.end(req.body);
    });
  }

  return {
    request,
    close: () =>
      new Promise<void>((resolve) => {
        if (session.closed || session.destroyed) return resolve();
        session.close(() => resolve());
      }),
  };
}
