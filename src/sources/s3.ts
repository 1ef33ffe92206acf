/**
 * The s3 source: every object under a bucket/prefix (optionally every version) into one
 * snapshot, and back into a bucket/prefix.
 *
 * Snapshot layout: each object's bytes are the file `/s3/<bucket>/<key>` (escaped as
 * s3-key-path.ts says); with `versions`, older versions are `/s3-versions/<bucket>/<key>/%vN`
 * (N = 1 for the oldest). `/holdfast-s3-metadata.json` records, per object, the exact key,
 * size, SHA-256, ETag, LastModified, content type, user metadata, the other stored headers
 * (Cache-Control, Content-Encoding, Content-Disposition, Content-Language) and, with
 * versions, the version ID and delete markers. Restore reads that file, so keys come back
 * byte for byte. By hand: `restic dump latest /s3/<bucket>/<key>` gives one object's bytes.
 * Not captured: ACLs, tags, Object Lock settings, storage class, server-side encryption keys.
 * The AWS SDK is imported when a backup or restore starts (s3-client.ts), not with this module.
 */
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  formatS3Location,
  loadS3Sdk,
  parseS3Url,
  s3ClientConfig,
  type S3ClientOptions,
  s3Error,
  type S3Sdk,
} from '../backends/s3-client.js';
import type { BackupResult } from '../engine/archiver.js';
import type { Repository } from '../engine/repository.js';
import type { StoredSnapshot } from '../engine/snapshots.js';
import { backupStreams, type StreamEntry } from '../engine/streams-backup.js';
import { fail, isHoldfastError } from '../errors.js';
import { objectPath, resolveDirConflicts } from './s3-key-path.js';
import { uploadObject } from './s3-upload.js';
import { type SourceMeta, type SourceRestoreResult, snapshotFile, sourceTags } from './source-snapshot.js';

export interface S3SourceSpec {
  type: 's3';
  /** `s3:http(s)://host[:port]/bucket[/prefix]` (restic's form). */
  url: string;
  /** Every version of every object (the bucket must have versioning), not only the current ones. */
  versions?: boolean;
}

export interface S3SourceOptions extends S3ClientOptions {
  /** A client to use instead of building one (tests add recorders to it). */
  client?: S3Client;
}

export interface S3RestoreOptions extends S3SourceOptions {
  /** Target `s3:…/bucket[/prefix]`: each key's part below the source prefix goes below it. */
  into: string;
  /** Replay every stored version, oldest first (and delete markers); default: current objects only. */
  versions?: boolean;
}

export const S3_METADATA_PATH = '/holdfast-s3-metadata.json';
export const S3_METADATA_FORMAT = 'holdfast-s3/1';

export interface S3ObjectRecord {
  key: string;
  /** Where the bytes are in the snapshot; absent for a delete marker. */
  path?: string;
  size: number;
  sha256: string;
  etag?: string;
  lastModified?: string;
  contentType?: string;
  metadata: Record<string, string>;
  cacheControl?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  versionId?: string;
  /** False for an older version (versions mode). */
  isLatest?: boolean;
  deleteMarker?: boolean;
}

export interface S3Metadata {
  format: typeof S3_METADATA_FORMAT;
  /** Endpoint (scheme, host, port; never credentials), bucket and prefix of the source. */
  endpoint: string;
  bucket: string;
  prefix: string;
  versions: boolean;
  objects: S3ObjectRecord[];
}

interface Listed {
  key: string;
  versionId?: string;
  isLatest: boolean;
  deleteMarker: boolean;
  lastModified?: Date;
}

async function listCurrent(sdk: S3Sdk, client: S3Client, bucket: string, prefix: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(
      new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of res.Contents ?? [])
      if (o.Key !== undefined)
        out.push({ key: o.Key, isLatest: true, deleteMarker: false, lastModified: o.LastModified });
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function listVersions(sdk: S3Sdk, client: S3Client, bucket: string, prefix: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const res = await client.send(
      new sdk.ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
      }),
    );
    for (const v of res.Versions ?? [])
      if (v.Key !== undefined)
        out.push({
          key: v.Key,
          versionId: v.VersionId,
          isLatest: !!v.IsLatest,
          deleteMarker: false,
          lastModified: v.LastModified,
        });
    for (const d of res.DeleteMarkers ?? [])
      if (d.Key !== undefined)
        out.push({
          key: d.Key,
          versionId: d.VersionId,
          isLatest: !!d.IsLatest,
          deleteMarker: true,
          lastModified: d.LastModified,
        });
    if (!res.IsTruncated) break;
    keyMarker = res.NextKeyMarker;
    versionMarker = res.NextVersionIdMarker;
  }
  // Per key, oldest first; the current version last.
  return out.sort(
    (a, b) =>
      (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) ||
      Number(a.isLatest) - Number(b.isLatest) ||
      (a.lastModified?.getTime() ?? 0) - (b.lastModified?.getTime() ?? 0),
  );
}

async function* measured(body: AsyncIterable<Uint8Array>, rec: S3ObjectRecord): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  for await (const chunk of body) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    hash.update(b);
    rec.size += b.length;
    yield b;
  }
  rec.sha256 = hash.digest('hex');
}

/** Backs up every object under the spec's bucket/prefix as one snapshot (tags `source:s3`…). */
export async function backupS3(
  repo: Repository,
  spec: S3SourceSpec,
  meta: SourceMeta,
  opts: S3SourceOptions = {},
): Promise<BackupResult> {
  const loc = parseS3Url(spec.url);
  const shown = formatS3Location(loc);
  const config = s3ClientConfig(loc, opts);
  const sdk = await loadS3Sdk();
  const client = opts.client ?? new sdk.S3Client(config);
  const prefix = loc.prefix ? `${loc.prefix}/` : '';
  try {
    let listed: Listed[];
    try {
      listed = await (spec.versions ? listVersions : listCurrent)(sdk, client, loc.bucket, prefix);
    } catch (err) {
      throw s3Error(`cannot list ${shown}`, err);
    }
    const versionNo = new Map<string, number>();
    const records: S3ObjectRecord[] = listed.map((l) => {
      const rec: S3ObjectRecord = { key: l.key, size: 0, sha256: '', metadata: {} };
      if (spec.versions) {
        rec.versionId = l.versionId;
        rec.isLatest = l.isLatest;
        if (l.deleteMarker) rec.deleteMarker = true;
        if (l.lastModified) rec.lastModified = l.lastModified.toISOString();
      }
      return rec;
    });
    const withBytes = records.filter((r) => !r.deleteMarker);
    const current = withBytes.filter((r) => r.isLatest !== false);
    const currentPaths = resolveDirConflicts(current.map((r) => objectPath('/s3', loc.bucket, r.key)));
    current.forEach((r, i) => (r.path = currentPaths[i]));
    for (const r of withBytes.filter((x) => x.isLatest === false)) {
      const n = (versionNo.get(r.key) ?? 0) + 1;
      versionNo.set(r.key, n);
      r.path = `${objectPath('/s3-versions', loc.bucket, r.key)}/%v${n}`;
    }

    const entries: StreamEntry[] = withBytes.map((rec) => ({
      path: rec.path!,
      open: async () => {
        const what = `cannot read ${rec.key}${rec.versionId ? ` (version ${rec.versionId})` : ''} from ${shown}`;
        let res;
        try {
          res = await client.send(
            new sdk.GetObjectCommand({ Bucket: loc.bucket, Key: rec.key, VersionId: rec.versionId }),
          );
        } catch (err) {
          throw s3Error(what, err);
        }
        if (res.ETag) rec.etag = res.ETag;
        if (res.LastModified) rec.lastModified = res.LastModified.toISOString();
        if (res.ContentType) rec.contentType = res.ContentType;
        rec.metadata = { ...res.Metadata };
        if (res.CacheControl) rec.cacheControl = res.CacheControl;
        if (res.ContentEncoding) rec.contentEncoding = res.ContentEncoding;
        if (res.ContentDisposition) rec.contentDisposition = res.ContentDisposition;
        if (res.ContentLanguage) rec.contentLanguage = res.ContentLanguage;
        const expected = res.ContentLength;
        if (!res.Body) fail('SOURCE_FAILED', `${what}: empty response`);
        return (async function* () {
          try {
            yield* measured(res.Body as AsyncIterable<Uint8Array>, rec);
          } catch (err) {
            throw isHoldfastError(err) ? err : s3Error(what, err);
          }
          if (expected !== undefined && rec.size !== expected)
            fail('SOURCE_FAILED', `${what}: read ${rec.size} of ${expected} bytes (connection lost?)`);
        })();
      },
    }));
    entries.push({
      path: S3_METADATA_PATH,
      open: async function* () {
        const doc: S3Metadata = {
          format: S3_METADATA_FORMAT,
          endpoint: loc.endpoint,
          bucket: loc.bucket,
          prefix: loc.prefix,
          versions: !!spec.versions,
          objects: records,
        };
        yield Buffer.from(JSON.stringify(doc, null, 2) + '\n');
      },
    });
    const { onWarning: _w, asset: _a, ...snapMeta } = meta;
    return await backupStreams(repo, entries, { ...snapMeta, tags: sourceTags('s3', meta) });
  } finally {
    if (!opts.client) client.destroy();
  }
}

/** The snapshot's S3 metadata file, or a clear error when the snapshot is not an s3 backup. */
export async function readS3Metadata(repo: Repository, snap: StoredSnapshot): Promise<S3Metadata> {
  let chunks: AsyncGenerator<Buffer>;
  try {
    chunks = await snapshotFile(repo, snap, S3_METADATA_PATH);
  } catch (err) {
    if (isHoldfastError(err, 'NOT_FOUND'))
      fail(
        'INVALID_ARGUMENT',
        `snapshot ${snap.id.slice(0, 8)} is not an s3 backup (no ${S3_METADATA_PATH})`,
      );
    throw err;
  }
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  const doc = JSON.parse(Buffer.concat(parts).toString('utf8')) as S3Metadata;
  if (doc.format !== S3_METADATA_FORMAT)
    fail('INVALID_ARGUMENT', `${S3_METADATA_PATH} in snapshot ${snap.id.slice(0, 8)} has an unknown format`);
  return doc;
}

async function* verified(chunks: AsyncIterable<Buffer>, rec: S3ObjectRecord): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const c of chunks) {
    hash.update(c);
    size += c.length;
    yield c;
  }
  if (size !== rec.size || hash.digest('hex') !== rec.sha256)
    fail('INTEGRITY', `${rec.path}: restored content differs from what was backed up`);
}

/** Writes the snapshot's objects (same keys below the target prefix, same headers and metadata). */
export async function restoreS3(
  repo: Repository,
  snap: StoredSnapshot,
  opts: S3RestoreOptions,
): Promise<SourceRestoreResult> {
  const doc = await readS3Metadata(repo, snap);
  const target = parseS3Url(opts.into);
  const shown = formatS3Location(target);
  const config = s3ClientConfig(target, opts);
  const sdk = await loadS3Sdk();
  const client = opts.client ?? new sdk.S3Client(config);
  const from = doc.prefix ? doc.prefix.length + 1 : 0;
  const targetKey = (key: string) => (target.prefix ? `${target.prefix}/` : '') + key.slice(from);
  const chosen = opts.versions
    ? doc.objects
    : doc.objects.filter((r) => r.isLatest !== false && !r.deleteMarker);
  let objects = 0;
  let bytes = 0;
  try {
    for (const rec of chosen) {
      const key = targetKey(rec.key);
      try {
        if (rec.deleteMarker) {
          await client.send(new sdk.DeleteObjectCommand({ Bucket: target.bucket, Key: key }));
          continue;
        }
        const body = verified(await snapshotFile(repo, snap, rec.path!), rec);
        bytes += await uploadObject(client, target.bucket, key, body, {
          ContentType: rec.contentType,
          Metadata: rec.metadata,
          CacheControl: rec.cacheControl,
          ContentEncoding: rec.contentEncoding,
          ContentDisposition: rec.contentDisposition,
          ContentLanguage: rec.contentLanguage,
        });
        objects++;
      } catch (err) {
        throw s3Error(`cannot restore ${JSON.stringify(rec.key)} to ${shown}`, err);
      }
    }
  } finally {
    if (!opts.client) client.destroy();
  }
  return {
    type: 's3',
    restored: [`${objects} objects (${bytes} bytes) from s3 bucket ${doc.bucket} -> ${shown}`],
    notes:
      opts.versions || !doc.versions
        ? []
        : ['only current versions were restored (use versions to replay every version)'],
  };
}
