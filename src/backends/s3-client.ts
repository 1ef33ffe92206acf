/**
 * S3 locations and clients, shared by the s3 backend and the s3 source: restic's URL forms
 * (`s3:https://host/bucket/prefix`, `s3:http://…`, `s3:s3.amazonaws.com/bucket/prefix`), the
 * region and path-style choice, an SDK client (credentials from the AWS SDK's standard
 * chain unless given), and S3 errors turned into holdfast's typed errors without secrets.
 *
 * The AWS SDK takes about half a second of CPU to load, so it is never imported at the top
 * level: `loadS3Sdk()` imports it on the first S3 request (memoised), and commands that use
 * no S3 location never load it. Only its types are imported here (erased when compiling).
 */
import { createRequire } from 'node:module';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { fail, HoldfastError } from '../errors.js';
import { notFoundError, permanentError, transientError } from './backend-error.js';

export interface S3Location {
  /** Scheme, host and port, e.g. `https://s3.eu-west-2.amazonaws.com`; never credentials. */
  endpoint: string;
  bucket: string;
  /** Key prefix without leading or trailing slash; '' for the bucket root. */
  prefix: string;
}

export interface S3ClientOptions {
  /** AWS region; default: from the endpoint (`s3.<region>.amazonaws.com`), else us-east-1. */
  region?: string;
  /** Path-style addressing (`host/bucket/key`); default: on for every non-AWS endpoint. */
  pathStyle?: boolean;
  /** Explicit credentials; default: the AWS SDK's chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Parses `s3:…` (the `s3:` prefix is optional here). */
export function parseS3Url(url: string): S3Location {
  let rest = url.startsWith('s3:') ? url.slice(3) : url;
  let scheme = 'https';
  const m = /^(https?):\/\//i.exec(rest);
  if (m) {
    scheme = m[1].toLowerCase();
    rest = rest.slice(m[0].length);
  }
  rest = rest.replace(/^[^/@]*@/, ''); // never keep user-info (credentials) from a URL
  const [host, bucket, ...prefixParts] = rest.split('/');
  if (!host || !bucket)
    fail('INVALID_ARGUMENT', 'an s3 URL needs a host and a bucket: s3:https://host/bucket[/prefix]');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    fail(
      'INVALID_ARGUMENT',
      `"${bucket}" is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)`,
    );
  const prefix = prefixParts.filter((p) => p !== '').join('/');
  return { endpoint: `${scheme}://${host}`, bucket, prefix };
}

/** `s3:<endpoint>/<bucket>[/<prefix>]`: the printable form of a location. */
export function formatS3Location(loc: S3Location): string {
  return `s3:${loc.endpoint}/${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ''}`;
}

export function isAwsEndpoint(endpoint: string): boolean {
  return /(^|\.)amazonaws\.com(\.cn)?(:\d+)?$/i.test(new URL(endpoint).host);
}

/**
 * Options from environment variables (restic's and holdfast's names): AWS_DEFAULT_REGION or
 * AWS_REGION, HOLDFAST_S3_PATH_STYLE=true|false. Credentials stay with the SDK's chain.
 * Called by the code that opens backends, never inside a backend operation.
 */
export function s3EnvOptions(env: NodeJS.ProcessEnv): S3ClientOptions {
  const opts: S3ClientOptions = {};
  const region = env.AWS_DEFAULT_REGION || env.AWS_REGION;
  if (region) opts.region = region;
  const ps = env.HOLDFAST_S3_PATH_STYLE?.toLowerCase();
  if (ps === 'true' || ps === '1' || ps === 'yes') opts.pathStyle = true;
  else if (ps === 'false' || ps === '0' || ps === 'no') opts.pathStyle = false;
  return opts;
}

function regionOf(endpoint: string): string | undefined {
  const m = /^s3[.-]([a-z0-9-]+)\.amazonaws\.com/i.exec(new URL(endpoint).host);
  return m && m[1] !== 'external-1' ? m[1] : undefined;
}

/** The AWS SDK's S3 module. */
export type S3Sdk = typeof import('@aws-sdk/client-s3');

let sdkLoading: Promise<S3Sdk> | undefined;
let sdkLoaded: S3Sdk | undefined;

/** The AWS SDK's S3 module, imported on first use (once per process). */
export function loadS3Sdk(): Promise<S3Sdk> {
  sdkLoading ??= import('@aws-sdk/client-s3').then((sdk) => (sdkLoaded = sdk));
  return sdkLoading;
}

/**
 * The SDK, loaded synchronously if no request has loaded it yet: for callers that need a
 * client at once (`makeS3Client`, an S3 backend's `client`). The package is CommonJS, so
 * this and `loadS3Sdk()` share one module instance.
 */
function s3SdkNow(): S3Sdk {
  sdkLoaded ??= createRequire(import.meta.url)('@aws-sdk/client-s3') as S3Sdk;
  return sdkLoaded;
}

/**
 * The client settings for a location, computed without the SDK, so that a bad endpoint is
 * reported when the location is opened rather than on its first request.
 */
export function s3ClientConfig(loc: S3Location, opts: S3ClientOptions = {}): S3ClientConfig {
  return {
    endpoint: loc.endpoint,
    region: opts.region ?? regionOf(loc.endpoint) ?? 'us-east-1',
    forcePathStyle: opts.pathStyle ?? !isAwsEndpoint(loc.endpoint),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    maxAttempts: 3,
  };
}

/** A client at once (the SDK is loaded synchronously if it is not yet). */
export function makeS3Client(loc: S3Location, opts: S3ClientOptions = {}): S3Client {
  return makeS3ClientNow(s3ClientConfig(loc, opts));
}

/** A client from `s3ClientConfig` at once (the SDK is loaded synchronously if it is not yet). */
export function makeS3ClientNow(config: S3ClientConfig): S3Client {
  return new (s3SdkNow().S3Client)(config);
}

/**
 * The HTTP status and error name of an S3 failure, when it is one (an S3ServiceException
 * carries both as `$metadata.httpStatusCode` and `name`).
 */
function s3Status(err: unknown): { status?: number; name: string } {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return { status: e?.$metadata?.httpStatusCode, name: e?.name ?? '' };
}

export function isS3NotFound(err: unknown): boolean {
  const { status, name } = s3Status(err);
  return status === 404 || name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket';
}

const PERMANENT_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidBucketName',
  'InvalidArgument',
  'InvalidRequest',
  'InvalidDigest',
  'BadDigest',
  'MethodNotAllowed',
  'NotImplemented',
  'CredentialsProviderError',
]);

/** A typed error for a failed S3 call on `what` (a key or an operation); no secrets. */
export function s3Error(what: string, err: unknown): HoldfastError {
  if (err instanceof HoldfastError) return err;
  if (isS3NotFound(err)) {
    const nf = notFoundError(what);
    return new HoldfastError('NOT_FOUND', nf.message, { cause: err });
  }
  const { status, name } = s3Status(err);
  const detail = err instanceof Error ? err.message : String(err);
  const hint =
    name === 'CredentialsProviderError'
      ? ' (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)'
      : status === 403
        ? ' (check the credentials and the bucket policy)'
        : '';
  const message = `${what}: ${name || 'error'}${status ? ` (HTTP ${status})` : ''}: ${detail}${hint}`;
  const permanent =
    PERMANENT_NAMES.has(name) ||
    (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429);
  return permanent ? permanentError(message, err) : transientError(message, err);
}
