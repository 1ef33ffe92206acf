/**
 * The source restore use case: finds the snapshot (ID, prefix or "latest", optionally of one
 * asset), reads its source kind from /holdfast-source.json and restores it into a target
 * (a database server, a directory, a new bare Git repository) under a shared lock.
 */
import { findSnapshot } from '../engine/snapshots.js';
import { s3EnvOptions } from '../backends/s3-client.js';
import { restoreSource, type SourceRestoreOptions } from '../sources/registry.js';
import type { SourceRestoreResult } from '../sources/source-snapshot.js';
import { type RepoRef, withRepo } from './session.js';

export interface SourceRestoreRequest extends SourceRestoreOptions {
  repo: RepoRef;
  /** Snapshot ID, unique prefix or "latest". */
  snapshot: string;
  /** With "latest": only snapshots of this asset. */
  asset?: string;
}

export async function restoreFromSource(
  req: SourceRestoreRequest,
): Promise<SourceRestoreResult & { snapshotId: string }> {
  return withRepo(req.repo, 'shared', true, async (repo) => {
    const snap = await findSnapshot(repo, req.snapshot, req.asset ? { tags: [`asset:${req.asset}`] } : {});
    const { repo: _r, snapshot: _s, asset: _a, ...opts } = req;
    return {
      ...(await restoreSource(repo, snap, { s3: s3EnvOptions(process.env), ...opts })),
      snapshotId: snap.id,
    };
  });
}
