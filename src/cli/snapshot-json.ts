/** Snapshots in the JSON shapes restic prints (`snapshots --json`, inside `forget --json`). */
import type { Snapshot } from '../engine/snapshot.js';
import type { StoredSnapshot } from '../engine/snapshots.js';

/** restic's Snapshot struct as json.Marshal writes it (omitempty fields left out). */
export function snapshotBody(o: Snapshot): Record<string, unknown> {
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
    ...(o.original ? { original: o.original } : {}),
    ...(o.programVersion ? { program_version: o.programVersion } : {}),
    ...(o.summary ? { summary: o.summary } : {}),
  };
}

/** A snapshot as `restic snapshots --json` lists it: the body, then its ID and short ID. */
export function snapshotJson(s: StoredSnapshot): Record<string, unknown> {
  return { ...snapshotBody(s.snapshot), id: s.id, short_id: s.id.slice(0, 8) };
}
