/**
 * Navigating a snapshot's trees: find the node at a path, and walk every node below a tree
 * in name order (used by ls, restore and dump).
 */
import { fail } from '../errors.js';
import { GoMode, type TreeNode } from './node.js';
import type { Repository } from './repository.js';
import { loadTree } from './tree-io.js';

/** A synthetic directory node standing for a snapshot's root tree. */
export function rootNode(tree: string, time: string): TreeNode {
  return {
    name: Buffer.from('/'),
    type: 'dir',
    mode: (GoMode.dir | 0o755) >>> 0,
    mtime: time,
    atime: time,
    ctime: time,
    uid: 0,
    gid: 0,
    content: null,
    subtree: tree,
  };
}

/** Splits "/a/b" (or "a/b") into raw name components. */
export function pathComponents(p: string | Buffer): Buffer[] {
  const buf = typeof p === 'string' ? Buffer.from(p) : p;
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= buf.length; i++) {
    if (i === buf.length || buf[i] === 0x2f) {
      if (i > start) out.push(buf.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

/** Finds the node at `p` below the root tree; the root itself for "/" or "". */
export async function findNode(repo: Repository, root: TreeNode, p: string | Buffer): Promise<TreeNode> {
  let node = root;
  const walked: string[] = [];
  for (const name of pathComponents(p)) {
    if (node.type !== 'dir' || !node.subtree)
      fail('NOT_FOUND', `/${walked.join('/')} is not a directory in the snapshot`);
    const next = (await loadTree(repo, node.subtree)).find((n) => n.name.equals(name));
    walked.push(name.toString('utf8'));
    if (!next) fail('NOT_FOUND', `path /${walked.join('/')} not found in the snapshot`);
    node = next;
  }
  return node;
}

/** Visits every node below `treeId` depth-first in name order, with its path. */
export async function walkTree(
  repo: Repository,
  treeId: string,
  prefix: Buffer,
  visit: (path: Buffer, node: TreeNode) => Promise<void> | void,
): Promise<void> {
  for (const node of await loadTree(repo, treeId)) {
    const p = Buffer.concat([prefix, Buffer.from('/'), node.name]);
    await visit(p, node);
    if (node.type === 'dir' && node.subtree) await walkTree(repo, node.subtree, p, visit);
  }
}
