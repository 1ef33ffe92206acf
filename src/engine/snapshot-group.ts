/**
 * Grouping snapshots as restic's `--group-by host,paths,tags` does: the key is the hostname,
 * the sorted paths and the sorted tags of each snapshot (only the parts asked for). As in
 * restic, every snapshot's paths come back sorted, and its tags too when grouping by tags.
 * Groups are returned in the order of their keys (restic's order is random).
 */
import { fail } from '../errors.js';
import type { StoredSnapshot } from './snapshots.js';

export interface GroupBy {
  host: boolean;
  paths: boolean;
  tags: boolean;
}

/** restic's default. */
export const DEFAULT_GROUP_BY: GroupBy = { host: true, paths: true, tags: false };

export interface GroupKey {
  /** '' when not grouping by host; null lists when not grouping by them (restic's JSON). */
  hostname: string;
  paths: string[] | null;
  tags: string[] | null;
}

export interface SnapshotGroup {
  key: GroupKey;
  snapshots: StoredSnapshot[];
}

/** Parses "host,paths,tags" (singular forms too; "" disables grouping). */
export function parseGroupBy(text: string): GroupBy {
  const g: GroupBy = { host: false, paths: false, tags: false };
  for (const option of text.split(',')) {
    if (option === 'host' || option === 'hosts') g.host = true;
    else if (option === 'path' || option === 'paths') g.paths = true;
    else if (option === 'tag' || option === 'tags') g.tags = true;
    else if (option !== '')
      fail('INVALID_ARGUMENT', `unknown grouping option "${option}": use host, paths and/or tags`);
  }
  return g;
}

const sorted = (list: string[]) => [...list].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export function groupSnapshots(list: readonly StoredSnapshot[], by: GroupBy): SnapshotGroup[] {
  const groups = new Map<string, SnapshotGroup>();
  for (const s of list) {
    const snapshot = { ...s.snapshot, paths: sorted(s.snapshot.paths) };
    if (by.tags && snapshot.tags) snapshot.tags = sorted(snapshot.tags);
    const key: GroupKey = {
      hostname: by.host ? (snapshot.hostname ?? '') : '',
      paths: by.paths ? snapshot.paths : null,
      tags: by.tags ? (snapshot.tags ?? null) : null,
    };
    const k = JSON.stringify([key.hostname, key.paths, key.tags]);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { key, snapshots: [] }));
    g.snapshots.push({ id: s.id, snapshot });
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
}
