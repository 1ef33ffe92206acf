/**
 * check's walk over the trees its snapshots reach: the same trees in the same order as
 * reachability's visitTrees (depth first from a stack, each tree once), but the trees about to
 * be visited are loaded ahead, several in one range read when they lie close together in a
 * pack, and opened on this thread (a tree is a few kilobytes: a worker round trip per tree
 * cost more than opening it, and loading them one by one left the process idle most of the
 * tree phase). A tree that does not load that way is loaded again alone by loadTree, so a
 * damaged or missing tree is reported with exactly the error visitTrees gives.
 */
import { goUnquote } from './goquote.js';
import { normalizeGoTime } from './gotime.js';
import { plainTreeObjects } from './plain-tree.js';
import type { Repository } from './repository.js';
import { type LoadedTree, loadTree, loadTreesBytes } from './tree-io.js';
import { decodeTree } from './tree.js';

/** What check looks at in a tree node (a TreeNode has it). */
export interface CheckedNode {
  name: Buffer;
  type: string;
  subtree?: string;
  content: string[] | null;
}

/** Called with each tree's nodes, or with the error that kept it from loading. */
export type CheckedTreeVisit = (
  id: string,
  nodes: readonly CheckedNode[] | undefined,
  error?: unknown,
) => void;

const TIMES = ['mtime', 'atime', 'ctime'];

/**
 * The nodes of a tree in the plain form restic and holdfast write (exact lowercase field
 * names, values decodeTree accepts, no replacement characters or surrogate escapes), read
 * with the native JSON.parse (several times faster than the lossless decoder); undefined
 * for any other tree, which decodeTree then decodes or rejects.
 */
export function plainTreeNodes(bytes: Buffer): CheckedNode[] | undefined {
  const nodes = plainTreeObjects(bytes);
  if (!nodes) return undefined;
  const times = new Set<string>(); // valid times seen in this tree
  const out: CheckedNode[] = new Array(nodes.length);
  try {
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      for (const t of TIMES) {
        const v = n[t];
        if (typeof v !== 'string' || times.has(v)) continue;
        normalizeGoTime(v); // throws for a time decodeTree rejects
        times.add(v);
      }
      const node: CheckedNode = {
        name: goUnquote(typeof n.name === 'string' ? n.name : ''),
        type: typeof n.type === 'string' ? n.type : '',
        content: Array.isArray(n.content) ? (n.content as string[]).map((x) => x.toLowerCase()) : null,
      };
      if (typeof n.subtree === 'string') node.subtree = n.subtree.toLowerCase();
      out[i] = node;
    }
  } catch {
    return undefined; // decodeTree finds and words the error
  }
  return out;
}

/** Trees at the top of the stack that are being loaded or loaded ahead of their visit. */
const TREES_AHEAD = 64;

/** Visits every tree reachable from `roots` once, in visitTrees's order; see the header. */
export async function visitTreesAhead(
  repo: Repository,
  roots: Iterable<string>,
  visit: CheckedTreeVisit,
  ahead = TREES_AHEAD,
): Promise<void> {
  const seen = new Set<string>();
  const stack: string[] = [];
  const loads = new Map<string, Promise<LoadedTree>>();
  const enqueue = (id: string) => {
    if (!seen.has(id)) {
      seen.add(id);
      stack.push(id);
    }
  };
  /** Starts loading the trees at the top of the stack (the next to be visited) not yet asked for. */
  const loadAhead = () => {
    const want: string[] = [];
    for (let i = stack.length - 1; i >= 0 && i >= stack.length - ahead; i--)
      if (!loads.has(stack[i])) want.push(stack[i]);
    for (const [id, p] of loadTreesBytes(repo, want)) {
      p.catch(() => undefined); // observed when visited (or loaded again alone)
      loads.set(id, p);
    }
  };
  for (const r of roots) enqueue(r);
  while (stack.length > 0) {
    if (!loads.has(stack[stack.length - 1])) loadAhead();
    const id = stack.pop() as string;
    const loaded = loads.get(id);
    loads.delete(id);
    let nodes: readonly CheckedNode[];
    try {
      if (!loaded) throw new Error('not loaded ahead');
      const { bytes } = await loaded;
      nodes = plainTreeNodes(bytes) ?? decodeTree(bytes);
    } catch {
      try {
        nodes = await loadTree(repo, id); // the reference path finds and words the error
      } catch (err) {
        visit(id, undefined, err);
        continue;
      }
    }
    visit(id, nodes);
    for (const n of nodes) if (n.type === 'dir' && n.subtree) enqueue(n.subtree);
  }
}
