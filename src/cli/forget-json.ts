/**
 * The JSON `restic forget --json` prints: one object per group with its key (tags, host,
 * paths), the kept and removed snapshots (with id and short_id) and the reasons each kept
 * snapshot was kept (the snapshot without id, the matching rules, the counters left).
 * Empty lists are null, as Go marshals nil slices.
 */
import type { ForgetGroupPlan } from '../engine/forget.js';
import type { Snapshot } from '../engine/snapshot.js';
import type { StoredSnapshot } from '../engine/snapshots.js';

/** restic's Snapshot struct as json.Marshal writes it (omitempty fields left out). */
function snapshotBody(o: Snapshot): Record<string, unknown> {
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

function withId(s: StoredSnapshot): Record<string, unknown> {
  return { ...snapshotBody(s.snapshot), id: s.id, short_id: s.id.slice(0, 8) };
}

const orNull = <T>(list: T[]): T[] | null => (list.length ? list : null);

export function forgetGroupJson(g: ForgetGroupPlan): Record<string, unknown> {
  return {
    tags: g.key.tags,
    host: g.key.hostname,
    paths: g.key.paths,
    keep: orNull(g.keep.map(withId)),
    remove: orNull(g.remove.map(withId)),
    reasons: orNull(
      g.reasons.map((r) => ({
        snapshot: snapshotBody(r.item.snapshot),
        matches: r.matches,
        counters: r.counters,
      })),
    ),
  };
}

/** The whole document, one line (Go's json.Encoder adds the newline). */
export function forgetJson(groups: ForgetGroupPlan[]): string {
  return JSON.stringify(groups.map(forgetGroupJson), (_k, v: unknown) =>
    typeof v === 'bigint' ? Number(v) : v,
  );
}
