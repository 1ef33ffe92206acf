/**
 * check's walk over the trees its snapshots reach: the same trees in the same order as
 * reachability's visitTrees (depth first from a stack, each tree once), but the trees about to
 * be visited are loaded ahead, several in one range read when they lie close together in a
 * pack, and opened on this thread (a tree is a few kilobytes: a worker round trip per tree
 * cost more than opening it, and loading them one by one left the process idle most of the
 * tree phase). A tree that does not load that way is loaded again alone by loadTree, so a
 * damaged or missing tree is reported with exactly the error visitTrees gives.
 */
import { isGoId } from './gojson.js';
import { goUnquote } from './goquote.js';
import { normalizeGoTime } from './gotime.js';
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

/** Replacement characters (raw or escaped) and surrogate escapes: the lossless decoder's cases. */
const LOSSY = /\ufffd|\\u[fF]{3}[dD]|\\u[dD][89a-fA-F]/;

const u32 = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const u64 = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const str = (v: unknown) => typeof v === 'string';
const id = (v: unknown) => typeof v === 'string' && isGoId(v);

/**
 * Each field decodeTree knows, with the values decodeTree certainly accepts (null is accepted
 * for every one); times are checked apart. Any other field or value leaves the tree to
 * decodeTree.
 */
const FIELD_OK = new Map<string, (v: unknown) => boolean>(
  Object.entries({
    name: str,
    type: str,
    mode: u32,
    mtime: str,
    atime: str,
    ctime: str,
    uid: u32,
    gid: u32,
    user: str,
    group: str,
    inode: u64,
    device_id: u64,
    size: u64,
    links: u64,
    linktarget: str,
    device: u64,
    content: (v) => Array.isArray(v) && v.every(id),
    subtree: id,
    error: str,
  }),
);
const TIMES = ['mtime', 'atime', 'ctime'];

/**
 * The nodes of a tree in the plain form restic and holdfast write (exact lowercase field
 * names, values decodeTree accepts, no replacement characters or surrogate escapes), read
 * with the native JSON.parse (several times faster than the lossless decoder); undefined
 * for any other tree, which decodeTree then decodes or rejects.
 */
export function plainTreeNodes(bytes: Buffer): CheckedNode[] | undefined {
  const text = bytes.toString('utf8');
  if (LOSSY.test(text)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const keys = Object.keys(doc);
  if (keys.length !== 1 || keys[0] !== 'nodes') return undefined;
  const nodes = (doc as { nodes: unknown }).nodes;
  if (nodes === null) return [];
  if (!Array.isArray(nodes)) return undefined;
  const times = new Set<string>(); // valid times seen in this tree
  const out: CheckedNode[] = new Array(nodes.length);
  try {
    for (let i = 0; i < nodes.length; i++) {
      const o: unknown = nodes[i];
      if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
      const n = o as Record<string, unknown>;
      for (const key in n) {
        const ok = FIELD_OK.get(key);
        const v = n[key];
        if (!ok || (v !== null && !ok(v))) return undefined;
      }
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
