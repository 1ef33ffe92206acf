/** A snapshot in the JSON shape `restic snapshots --json` prints. */
import type { StoredSnapshot } from '../engine/snapshots.js';

export function snapshotJson(s: StoredSnapshot): Record<string, unknown> {
  const o = s.snapshot;
  return {
    time: o.time,
    ...(o.parent ? { parent: o.parent } : {}),
    tree: o.tree,
    paths: o.paths,
    ...(o.hostname ? { hostname: o.hostname } : {}),
    ...(o.username ? { username: o.username } : {}),
    ...(o.uid ? { uid: o.uid } : {}),
    ...(o.gid ? { gid: o.gid } : {}),
    ...(o.excludes?.length ? { excludes: o.excludes } : {}),
    ...(o.tags?.length ? { tags: o.tags } : {}),
    ...(o.programVersion ? { program_version: o.programVersion } : {}),
    id: s.id,
    short_id: s.id.slice(0, 8),
  };
}
