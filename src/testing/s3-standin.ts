/**
 * The S3 stand-in for tests: the npm package `s3rver` (a Koa app storing objects as files)
 * on a free loopback port, in a temporary directory removed on close. Two shims, test-only,
 * make it faithful where it is not:
 * - restic (minio-go) sends PUT bodies over plain http in `aws-chunked` framing, which s3rver
 *   would store verbatim; a first middleware decodes them (signatures are then not checked:
 *   `allowMismatchedSignatures`).
 * - s3rver maps keys onto paths with path.join and routes on non-empty path segments, so keys
 *   with empty, `.` or `..` segments (a leading `/`, `a//b`, `a/../b`) would be altered; the
 *   key is passed as one escaped segment and stored with those segments escaped on disk.
 * - s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 no longer
 *   offers without its legacy provider; 'des' is mapped to AES-128-CTR in this process.
 * Also: `recordRequests` records every request an SDK client sends (after signing), so tests
 * assert on the headers real S3 would receive (s3rver ignores Object Lock headers).
 */
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { makeTempDir, removeDir } from './tmp.js';

const require = createRequire(import.meta.url);

interface KoaContext {
  path: string;
  req: IncomingMessage;
  headers: Record<string, string | undefined>;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rverInstance {
  middleware: Middleware[];
  httpServer?: Server;
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;
interface FilesystemStoreClass {
  encodeKeyPath(key: string): string;
  decodeKeyPath(keyPath: string): string;
}

export const STANDIN_PACKAGE = 's3rver';
export const STANDIN_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** Escapes empty, `.` and `..` key segments (and `&`) so that path.join keeps them apart. */
function patchKeyPaths(): void {
  const store = require('s3rver/lib/stores/filesystem.js') as FilesystemStoreClass;
  store.encodeKeyPath = (key: string) =>
    key
      .split('/')
      .map((seg, i, all) => {
        if (seg === '') return i < all.length - 1 ? '&__' : '';
        if (seg === '.' || seg === '..') return seg.replace(/\./g, '&2e');
        return seg.replace(/&/g, '&26');
      })
      .join('/');
  store.decodeKeyPath = (p: string) =>
    p.replace(/&(__|[0-9a-f]{2})/g, (_m, x: string) =>
      x === '__' ? '' : String.fromCharCode(parseInt(x, 16)),
    );
}

/** Lets s3rver's DES continuation tokens work under OpenSSL 3 (test process only). */
function patchDes(): void {
  const crypto = require('node:crypto') as typeof import('node:crypto') & { holdfastDesPatched?: boolean };
  if (crypto.holdfastDesPatched) return;
  const widen = (b: Buffer) => Buffer.concat([b, Buffer.alloc(16 - b.length)]);
  const { createCipheriv, createDecipheriv } = crypto;
  const patched = crypto as unknown as Record<string, unknown>;
  patched.createCipheriv = (alg: string, key: Buffer, iv: Buffer, ...rest: unknown[]) =>
    alg === 'des'
      ? createCipheriv('aes-128-ctr', widen(key), widen(iv))
      : (createCipheriv as (...a: unknown[]) => unknown)(alg, key, iv, ...rest);
  patched.createDecipheriv = (alg: string, key: Buffer, iv: Buffer, ...rest: unknown[]) =>
    alg === 'des'
      ? createDecipheriv('aes-128-ctr', widen(key), widen(iv))
      : (createDecipheriv as (...a: unknown[]) => unknown)(alg, key, iv, ...rest);
  crypto.holdfastDesPatched = true;
}

/** Decodes an `aws-chunked` body: `<hex size>;chunk-signature=…\r\n<data>\r\n`… ending with size 0. */
function decodeAwsChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', pos);
    if (eol < 0) throw new Error('aws-chunked body: missing chunk header');
    const size = parseInt(body.subarray(pos, eol).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size)) throw new Error('aws-chunked body: bad chunk size');
    if (size === 0) return Buffer.concat(parts);
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const shims: Middleware = async (ctx, next) => {
  const m = /^\/([^/]+)\/(.+)$/s.exec(ctx.path);
  if (m) {
    const key = m[2].split('/').map(decodeURIComponent).join('/');
    ctx.path = `/${m[1]}/${encodeURIComponent(key)}`;
  }
  if (ctx.headers['x-amz-content-sha256'] === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD') {
    const decoded = decodeAwsChunked(await readAll(ctx.req));
    const headers = ctx.req.headers;
    headers['content-length'] = String(decoded.length);
    headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    delete headers['x-amz-decoded-content-length'];
    const enc = (headers['content-encoding'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && s !== 'aws-chunked');
    if (enc.length) headers['content-encoding'] = enc.join(',');
    else delete headers['content-encoding'];
    ctx.req = Object.assign(Readable.from([decoded]), { headers }) as unknown as IncomingMessage;
  }
  await next();
};

export interface S3StandIn {
  endpoint: string;
  port: number;
  /** `s3:http://127.0.0.1:PORT/<bucket>[/<prefix>]`. */
  url(bucket: string, prefix?: string): string;
  /** Where s3rver keeps the objects (tests may look, not write). */
  directory: string;
  close(): Promise<void>;
}

/** Runs s3rver in this process until it is closed; resolves with its port. */
async function serve(
  directory: string,
  buckets: string[],
): Promise<{ port: number; close: () => Promise<void> }> {
  patchKeyPaths();
  patchDes();
  const S3rver = require('s3rver') as S3rverCtor;
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: process.env.S3RVER_LOG !== '1',
    directory,
    allowMismatchedSignatures: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  server.middleware.unshift(shims);
  const { port } = await server.run();
  return {
    port,
    close: async () => {
      server.httpServer?.closeAllConnections();
      await server.close();
    },
  };
}

/**
 * Starts s3rver on 127.0.0.1 with the given buckets, in a child process: tests run holdfast
 * and restic with synchronous spawns, which would block a server living in the test process.
 */
export async function startS3StandIn(buckets: string[]): Promise<S3StandIn> {
  const root = makeTempDir('s3');
  const directory = path.join(root, 'data');
  fs.mkdirSync(directory);
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), SERVE_FLAG, directory, ...buckets], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^port (\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`the S3 stand-in exited (${code}) before listening`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    directory,
    url: (bucket, prefix) => `s3:${endpoint}/${bucket}${prefix ? `/${prefix}` : ''}`,
    close: async () => {
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      removeDir(root);
    },
  };
}

const SERVE_FLAG = '--holdfast-s3-standin';

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === SERVE_FLAG) {
  const [directory, ...buckets] = process.argv.slice(3);
  const server = await serve(directory, buckets);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
  process.stdout.write(`port ${server.port}\n`);
}

export interface RecordedRequest {
  method: string;
  /** Path as sent, percent-encoded. */
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  /** MD5 (base64) of the body, when it was sent as bytes. */
  bodyMd5?: string;
}

/** Records every request `client` sends, as sent (after signing). */
export function recordRequests(client: S3Client): RecordedRequest[] {
  const log: RecordedRequest[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const r = args.request as {
        method: string;
        path: string;
        query?: Record<string, unknown>;
        headers: Record<string, string>;
        body?: unknown;
      };
      const rec: RecordedRequest = {
        method: r.method,
        path: r.path,
        query: { ...r.query },
        headers: { ...r.headers },
      };
      if (r.body instanceof Uint8Array) rec.bodyMd5 = createHash('md5').update(r.body).digest('base64');
      log.push(rec);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'holdfastTestRecorder', priority: 'low' },
  );
  return log;
}
