/**
 * Finding and storing snapshots in a repository: list all, resolve an ID, a unique prefix
 * or "latest" (optionally filtered by host, tags and paths), save a new one.
 */
import { fail } from '../errors.js';
import type { Repository } from './repository.js';
import { decodeSnapshot, encodeSnapshot, type Snapshot } from './snapshot.js';
import { parseGoTime } from './gotime.js';

export interface StoredSnapshot {
  id: string;
  snapshot: Snapshot;
}

export interface SnapshotFilter {
  hosts?: string[];
  /** Each entry is a comma-separated group of tags that must all be present (restic semantics). */
  tags?: string[];
  paths?: string[];
}

/** Snapshot files loaded at once when listing (the backend's own limit still applies). */
const LIST_CONCURRENCY = 8;

export async function listSnapshots(repo: Repository): Promise<StoredSnapshot[]> {
  const ids = await repo.listIds('snapshot');
  const out: StoredSnapshot[] = new Array(ids.length);
  let next = 0;
  const loader = async () => {
    while (next < ids.length) {
      const i = next++;
      out[i] = { id: ids[i], snapshot: decodeSnapshot(await repo.loadFile('snapshot', ids[i])) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, ids.length) }, loader));
  return out.sort((a, b) => compareTime(a.snapshot.time, b.snapshot.time));
}

function compareTime(a: string, b: string): number {
  const d = parseGoTime(a) - parseGoTime(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

export function matchesFilter(s: Snapshot, f: SnapshotFilter): boolean {
  if (f.hosts?.length && !f.hosts.includes(s.hostname ?? '')) return false;
  if (f.tags?.length) {
    const have = new Set(s.tags ?? []);
    const anyGroup = f.tags.some((group) =>
      group
        .split(',')
        .filter(Boolean)
        .every((t) => have.has(t)),
    );
    if (!anyGroup) return false;
  }
  if (f.paths?.length) {
    const paths = new Set(s.paths);
    if (!f.paths.every((p) => paths.has(p))) return false;
  }
  return true;
}

/** Resolves "latest", a full ID or a unique ID prefix to one snapshot. */
export async function findSnapshot(
  repo: Repository,
  ref: string,
  filter: SnapshotFilter = {},
): Promise<StoredSnapshot> {
  if (ref === 'latest') {
    const all = (await listSnapshots(repo)).filter((s) => matchesFilter(s.snapshot, filter));
    if (all.length === 0)
      fail('NOT_FOUND', 'no snapshot matched: the repository has no snapshot for this filter');
    return all[all.length - 1];
  }
  if (!/^[0-9a-f]{1,64}$/.test(ref))
    fail('INVALID_ARGUMENT', `"${ref}" is not a snapshot ID (use hex digits or "latest")`);
  const id = await repo.findFileId('snapshot', ref);
  return { id, snapshot: decodeSnapshot(await repo.loadFile('snapshot', id)) };
}

export async function saveSnapshot(repo: Repository, snapshot: Snapshot): Promise<string> {
  return repo.saveFile('snapshot', encodeSnapshot(snapshot));
}
