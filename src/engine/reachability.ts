/**
 * Which trees and blobs the snapshots of a repository reach: a breadth-first walk over tree
 * blobs that visits each tree once, however many snapshots share it. check reports the trees
 * it cannot load; prune refuses to run when any is missing.
 */
import type { TreeNode } from './node.js';
import type { Repository } from './repository.js';
import { loadTree } from './tree-io.js';

export type TreeVisit = (id: string, nodes: TreeNode[] | undefined, error?: unknown) => void;

/** Visits every tree reachable from `roots` once; a tree that cannot be loaded is visited with its error. */
export async function visitTrees(repo: Repository, roots: Iterable<string>, visit: TreeVisit): Promise<void> {
  const seen = new Set<string>();
  const queue: string[] = [];
  const enqueue = (id: string) => {
    if (!seen.has(id)) {
      seen.add(id);
      queue.push(id);
    }
  };
  for (const r of roots) enqueue(r);
  while (queue.length > 0) {
    const id = queue.pop() as string;
    let nodes: TreeNode[];
    try {
      nodes = await loadTree(repo, id);
    } catch (err) {
      visit(id, undefined, err);
      continue;
    }
    visit(id, nodes);
    for (const n of nodes) if (n.type === 'dir' && n.subtree) enqueue(n.subtree);
  }
}

export interface UsedBlobs {
  tree: Set<string>;
  data: Set<string>;
}

/** The blobs the given root trees reference; throws on the first tree that cannot be loaded. */
export async function collectUsedBlobs(repo: Repository, roots: Iterable<string>): Promise<UsedBlobs> {
  const used: UsedBlobs = { tree: new Set(), data: new Set() };
  await visitTrees(repo, roots, (id, nodes, error) => {
    if (!nodes) throw error;
    used.tree.add(id);
    for (const n of nodes) for (const b of n.content ?? []) used.data.add(b);
  });
  return used;
}

/**
 * The snapshots (by root tree) whose trees contain a bad tree or reference a bad data blob.
 * Walks only when there is something bad to look for.
 */
export async function treesReaching(
  repo: Repository,
  roots: readonly string[],
  badTrees: ReadonlySet<string>,
  badData: ReadonlySet<string>,
): Promise<Set<string>> {
  const hit = new Set<string>();
  if (badTrees.size === 0 && badData.size === 0) return hit;
  const memo = new Map<string, boolean>();
  const reaches = async (id: string): Promise<boolean> => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    memo.set(id, false); // trees form a DAG; this only guards against damaged cycles
    let bad = badTrees.has(id);
    if (!bad) {
      let nodes: TreeNode[] = [];
      try {
        nodes = await loadTree(repo, id);
      } catch {
        bad = true;
      }
      for (const n of nodes) {
        if (bad) break;
        if ((n.content ?? []).some((b) => badData.has(b))) bad = true;
        else if (n.type === 'dir' && n.subtree && (await reaches(n.subtree))) bad = true;
      }
    }
    memo.set(id, bad);
    return bad;
  };
  for (const r of roots) if (await reaches(r)) hit.add(r);
  return hit;
}
