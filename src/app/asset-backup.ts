/**
 * Backing up one asset of the policy from its source: snapshot metadata (this host, the
 * asset's tags, `asset:NAME`), relative paths resolved against the policy file's directory,
 * and the abort signal passed down so an interrupted run stores no snapshot. A backup that
 * could not read everything is a failure: its snapshot stays, but the job does not count.
 */
import * as os from 'node:os';
import type { Repository } from '../engine/repository.js';
import { fail } from '../errors.js';
import type { BackedUpAsset } from '../policy/types.js';
import { s3EnvOptions } from '../backends/s3-client.js';
import { backupSource, type StreamSourceSpec } from '../sources/registry.js';
import type { SourceMeta } from '../sources/source-snapshot.js';
import { PROGRAM } from '../version.js';

export interface AssetBackupResult {
  snapshotId: string;
  details: Record<string, unknown>;
}

function username(): string {
  try {
    return os.userInfo().username;
  } catch {
    return '';
  }
}

export async function backupAsset(
  repo: Repository,
  asset: BackedUpAsset,
  opts: {
    dir: string;
    env: Readonly<Record<string, string | undefined>>;
    signal?: AbortSignal;
    hostname?: string;
  },
): Promise<AssetBackupResult> {
  const warnings: string[] = [];
  const meta: SourceMeta = {
    hostname: opts.hostname ?? os.hostname(),
    username: username(),
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    tags: asset.tags,
    asset: asset.name,
    programVersion: PROGRAM,
    signal: opts.signal,
    onWarning: (p, m) => warnings.push(`${p}: ${m}`),
  };
  const r = await backupSource(repo, asset.source as StreamSourceSpec, meta, {
    cwd: opts.dir,
    s3: s3EnvOptions(opts.env),
  });
  if (warnings.length > 0)
    fail(
      'SOURCE_FAILED',
      `snapshot ${r.snapshotId.slice(0, 8)} is incomplete: ${warnings.length} item(s) could not be read (first: ${warnings[0]})`,
    );
  return {
    snapshotId: r.snapshotId,
    details: {
      filesProcessed: r.counters.totalFilesProcessed,
      bytesProcessed: r.counters.totalBytesProcessed,
      warnings: warnings.slice(0, 20),
    },
  };
}
