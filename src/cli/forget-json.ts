/**
 * The JSON `restic forget --json` prints: one object per group with its key (tags, host,
 * paths), the kept and removed snapshots (with id and short_id) and the reasons each kept
 * snapshot was kept (the snapshot without id, the matching rules, the counters left).
 * Empty lists are null, as Go marshals nil slices.
 */
import type { ForgetGroupPlan } from '../engine/forget.js';
import { snapshotBody, snapshotJson } from './snapshot-json.js';

const orNull = <T>(list: T[]): T[] | null => (list.length ? list : null);

export function forgetGroupJson(g: ForgetGroupPlan): Record<string, unknown> {
  return {
    tags: g.key.tags,
    host: g.key.hostname,
    paths: g.key.paths,
    keep: orNull(g.keep.map(snapshotJson)),
    remove: orNull(g.remove.map(snapshotJson)),
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
