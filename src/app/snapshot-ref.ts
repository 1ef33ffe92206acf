/** Resolving "ID[:SUBPATH]" (or "latest:SUBPATH") to a snapshot and the node at that path. */
import type { TreeNode } from '../engine/node.js';
import type { Repository } from '../engine/repository.js';
import { findSnapshot, type SnapshotFilter, type StoredSnapshot } from '../engine/snapshots.js';
import { findNode, rootNode } from '../engine/walker.js';

export function splitSnapshotRef(arg: string): { ref: string; subpath: string } {
  const i = arg.indexOf(':');
  return i < 0 ? { ref: arg, subpath: '/' } : { ref: arg.slice(0, i), subpath: arg.slice(i + 1) || '/' };
}

export async function resolveNode(
  repo: Repository,
  arg: string,
  filter: SnapshotFilter = {},
  extraPath?: string,
): Promise<{ snap: StoredSnapshot; node: TreeNode; path: string }> {
  const { ref, subpath } = splitSnapshotRef(arg);
  const snap = await findSnapshot(repo, ref, filter);
  const p = extraPath ?? subpath;
  const node = await findNode(repo, rootNode(snap.snapshot.tree, snap.snapshot.time), p);
  return { snap, node, path: p };
}
