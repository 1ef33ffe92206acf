/**
 * S3 backend (AWS S3 and S3-compatible servers), restic's `s3:` layout: the repository's
 * files are the objects `<prefix>/config`, `<prefix>/keys/<id>`, `<prefix>/data/<xx>/<id>`…
 * A PUT is atomic, so files are written directly under their final key, with Content-MD5.
 *
 * Immutable repositories (S3 Object Lock): every file except lock files is written with
 * `ObjectLockMode` and `ObjectLockRetainUntilDate` = now + days, as AWS documents for PUT.
 * Lock files are coordination, not data: they must be removable when an operation ends, so
 * they carry no retention. `retainedUntil()` tells whether a file is still retained (the
 * object's own retain-until date, or else its LastModified + days); `remove()` of a retained
 * file fails with IMMUTABLE, and prune keeps such files (engine/prune.ts).
 *
 * The URL and options are checked when the backend is made; the AWS SDK is imported and the
 * client built on the first request (s3-client.ts), so opening costs nothing until then.
 */
import { createHash } from 'node:crypto';
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
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
import { isPermanentError, transientError } from './backend-error.js';
import {
  formatS3Location,
  isS3NotFound,
  loadS3Sdk,
  makeS3ClientNow,
  parseS3Url,
  s3ClientConfig,
  type S3ClientOptions,
  s3Error,
  type S3Location,
  type S3Sdk,
} from './s3-client.js';

export interface ImmutableOptions {
  /** Days each written file stays retained (the policy's `repositories.X.immutable.days`). */
  days: number;
  /** GOVERNANCE (default; users with s3:BypassGovernanceRetention may override) or COMPLIANCE. */
  mode?: 'GOVERNANCE' | 'COMPLIANCE';
}

export interface S3BackendOptions extends S3ClientOptions {
  immutable?: ImmutableOptions;
  /** A client to use instead of building one (tests add request recorders to it). */
  client?: S3Client;
  /** The clock, in ms (tests move it). */
  now?: () => number;
  /** Keys per list request (default: the server's, 1000 on S3); tests page with fewer. */
  listPageSize?: number;
}

export interface S3Backend extends Backend {
  /** The SDK client; reading it before the first request builds it (loading the SDK) at once. */
  readonly client: S3Client;
  readonly bucket: string;
  /** Full object key of a file. */
  keyOf(h: FileHandle): string;
  retainedUntil(h: FileHandle): Promise<Date | undefined>;
}

const DAY_MS = 86_400_000;

export function s3Backend(url: string, opts: S3BackendOptions = {}): S3Backend {
  const loc: S3Location = parseS3Url(url);
  const immutable = opts.immutable;
  if (immutable && !(Number.isInteger(immutable.days) && immutable.days > 0))
    fail('INVALID_ARGUMENT', `immutable.days must be a whole number of days above 0, not ${immutable.days}`);
  const config = s3ClientConfig(loc, opts);
  let made: S3Client | undefined = opts.client;
  let ready: Promise<{ sdk: S3Sdk; client: S3Client }> | undefined;
  /** The SDK and the client, loaded and built on the first request. */
  const sdkAndClient = () =>
    (ready ??= (async () => {
      const sdk = await loadS3Sdk();
      made ??= new sdk.S3Client(config);
      return { sdk, client: made };
    })());
  const now = opts.now ?? Date.now;
  const bucket = loc.bucket;
  const base = loc.prefix ? `${loc.prefix}/` : '';
  const keyOf = (h: FileHandle) => base + relativePath(h);
  const location = formatS3Location(loc);

  async function call<T>(what: string, fn: (sdk: S3Sdk, client: S3Client) => Promise<T>): Promise<T> {
    try {
      const c = await sdkAndClient();
      return await fn(c.sdk, c.client);
    } catch (err) {
      throw s3Error(what, err);
    }
  }

  async function create(): Promise<void> {
    const where = `cannot reach bucket ${bucket} at ${loc.endpoint}`;
    const { sdk, client } = await call(where, async (sdk, client) => ({ sdk, client }));
    try {
      await client.send(new sdk.HeadBucketCommand({ Bucket: bucket }));
    } catch (err) {
      if (!isS3NotFound(err)) throw s3Error(where, err);
      const region = await client.config.region();
      await call(`cannot create bucket ${bucket}`, () =>
        client.send(
          new sdk.CreateBucketCommand({
            Bucket: bucket,
            ...(immutable ? { ObjectLockEnabledForBucket: true } : {}),
            ...(region && region !== 'us-east-1'
              ? { CreateBucketConfiguration: { LocationConstraint: region as never } }
              : {}),
          }),
        ),
      );
    }
    const exists = await stat({ type: 'config', name: '' }).then(
      () => true,
      (err: unknown) => {
        if (isHoldfastError(err, 'NOT_FOUND')) return false;
        throw err;
      },
    );
    if (exists) fail('REPO_EXISTS', `a repository already exists at ${location}`);
  }

  async function save(h: FileHandle, data: Uint8Array): Promise<void> {
    const input: PutObjectCommandInput = {
      Bucket: bucket,
      Key: keyOf(h),
      Body: data,
      ContentLength: data.length,
      ContentMD5: createHash('md5').update(data).digest('base64'),
      ContentType: 'application/octet-stream',
    };
    if (immutable && h.type !== 'lock') {
      input.ObjectLockMode = immutable.mode ?? 'GOVERNANCE';
      input.ObjectLockRetainUntilDate = new Date(now() + immutable.days * DAY_MS);
    }
    await call(`cannot save ${relativePath(h)} to ${location}`, (sdk, client) =>
      client.send(new sdk.PutObjectCommand(input)),
    );
  }

  async function load(h: FileHandle, offset = 0, length?: number): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    const range =
      length !== undefined
        ? `bytes=${offset}-${offset + length - 1}`
        : offset > 0
          ? `bytes=${offset}-`
          : undefined;
    const what = `cannot load ${relativePath(h)} from ${location}`;
    const bytes = await call(what, async (sdk, client) => {
      const res = await client.send(
        new sdk.GetObjectCommand({ Bucket: bucket, Key: keyOf(h), Range: range }),
      );
      if (!res.Body) throw transientError(`${what}: empty response`);
      const got = Buffer.from(await res.Body.transformToByteArray());
      // Some S3 stand-ins answer a range with more than asked (s3rver: "bytes=0-0" gives it
      // all) or ignore it: cut what was asked from what came, by the answer's Content-Range.
      const start = range ? Number(/^bytes (\d+)-/.exec(res.ContentRange ?? '')?.[1] ?? 0) : offset;
      if (start > offset)
        throw transientError(`${what}: the server answered another range (${res.ContentRange})`);
      const from = offset - start;
      return from === 0 && (length === undefined || got.length === length)
        ? got
        : got.subarray(from, length === undefined ? undefined : from + length);
    });
    if (length !== undefined && bytes.length !== length)
      throw transientError(
        `${relativePath(h)}: short read (${bytes.length} of ${length} bytes at ${offset})`,
      );
    return bytes;
  }

  async function head(h: FileHandle) {
    return call(`${relativePath(h)} at ${location}`, (sdk, client) =>
      client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: keyOf(h) })),
    );
  }

  async function stat(h: FileHandle): Promise<FileInfo> {
    const res = await head(h);
    return { name: h.name, size: res.ContentLength ?? 0 };
  }

  async function list(type: FileType): Promise<FileInfo[]> {
    if (type === 'config') return [];
    const dir = `${base}${TYPE_DIRS[type]}/`;
    const out: FileInfo[] = [];
    let token: string | undefined;
    do {
      const res = await call(`cannot list ${dir} at ${location}`, (sdk, client) =>
        client.send(
          new sdk.ListObjectsV2Command({
            Bucket: bucket,
            Prefix: dir,
            ContinuationToken: token,
            MaxKeys: opts.listPageSize,
          }),
        ),
      );
      for (const o of res.Contents ?? []) {
        const rel = (o.Key ?? '').slice(dir.length).split('/');
        const name = rel[rel.length - 1];
        if (!isId(name)) continue;
        if (type === 'pack' ? rel.length !== 2 || rel[0] !== name.slice(0, 2) : rel.length !== 1) continue;
        out.push({ name, size: o.Size ?? 0 });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async function retainedUntil(h: FileHandle): Promise<Date | undefined> {
    const res = await head(h);
    let until = res.ObjectLockRetainUntilDate;
    if (!until && immutable && h.type !== 'lock' && res.LastModified)
      until = new Date(res.LastModified.getTime() + immutable.days * DAY_MS);
    return until && until.getTime() > now() ? until : undefined;
  }

  async function remove(h: FileHandle): Promise<void> {
    if (h.type !== 'lock') {
      const until = await retainedUntil(h);
      if (until)
        throw new HoldfastError(
          'IMMUTABLE',
          `${relativePath(h)} is under Object Lock retention until ${until.toISOString()}: it cannot be removed before then`,
        );
    }
    await call(`cannot remove ${relativePath(h)} from ${location}`, (sdk, client) =>
      client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: keyOf(h) })),
    );
  }

  return {
    location,
    get client(): S3Client {
      made ??= makeS3ClientNow(config);
      return made;
    },
    bucket,
    keyOf,
    create,
    save,
    load,
    stat,
    list,
    remove,
    retainedUntil,
    isNotFound: (err) => isHoldfastError(err, 'NOT_FOUND') || isS3NotFound(err),
    isPermanent: (err) => isHoldfastError(err, 'IMMUTABLE') || isPermanentError(err),
    close: async () => {
      // Waits for a client still being built, so that none is left open behind the close.
      if (ready) await ready.catch(() => undefined);
      made?.destroy();
    },
  };
}
