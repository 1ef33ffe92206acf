/**
 * Reading the repository for a restore: a bounded loop that lets started work settle after a
 * failure, reading one byte range of a pack, and loading a snapshot's directory trees level
 * by level with each level's tree blobs grouped by pack, so that a tree pack is read once
 * per level rather than once per directory.
 */
import { fail } from '../errors.js';
import { type BlobLocation, lookupBlob } from './master-index.js';
import type { TreeNode } from './node.js';
import { profiledAsync } from './profile.js';
import { type PackSpan, splitSpans } from './pack-span.js';
import type { DirListing } from './restore-plan.js';
import type { Repository } from './repository.js';
import { decodeTree } from './tree.js';

/** The first failure of any task; once set, loops sharing it start no new work. */
export interface Stop {
  failed: boolean;
  error?: unknown;
}

/**
 * Runs `fn` over `items` with at most `limit` in flight. After a failure (here or in another
 * loop sharing `stop`) no new item starts; it returns once the started ones have settled,
 * and then throws the first failure.
 */
export async function forEachSettled<T>(
  items: readonly T[],
  limit: number,
  stop: Stop,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (!stop.failed && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        if (!stop.failed) {
          stop.failed = true;
          stop.error = err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (stop.failed) throw stop.error;
}

/** Bytes in flight, bounded: acquire waits while the bound would be passed (one item always fits). */
export class ByteBudget {
  private used = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async acquire(n: number): Promise<void> {
    while (this.used > 0 && this.used + n > this.limit)
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.used += n;
  }

  release(n: number): void {
    this.used -= n;
    for (const wake of this.waiting.splice(0)) wake();
  }
}

/** Reads one span of a pack. */
export function readSpan<T extends { loc: BlobLocation }>(
  repo: Repository,
  packId: string,
  span: PackSpan<T>,
): Promise<Buffer> {
  return profiledAsync('read', span.length, () =>
    repo.backend.load({ type: 'pack', name: packId }, span.offset, span.length),
  );
}

/** A blob's sealed bytes inside the span that holds it. */
export function sealedIn(span: Buffer, spanOffset: number, loc: BlobLocation): Buffer {
  const start = loc.offset - spanOffset;
  return span.subarray(start, start + loc.length);
}

const TREE_PACKS_AT_ONCE = 4;

/** Loads and decodes the given trees (each verified against its ID) into `into`. */
async function loadTrees(repo: Repository, ids: Iterable<string>, into: Map<string, TreeNode[]>) {
  const byPack = new Map<string, { loc: BlobLocation }[]>();
  for (const id of ids) {
    const loc = lookupBlob(repo.index, 'tree', id);
    if (!loc) fail('NOT_FOUND', `tree blob ${id} is not in the index`);
    let list = byPack.get(loc.packId);
    if (!list) byPack.set(loc.packId, (list = []));
    list.push({ loc });
  }
  const stop: Stop = { failed: false };
  await forEachSettled([...byPack], TREE_PACKS_AT_ONCE, stop, async ([packId, blobs]) => {
    for (const span of splitSpans(blobs)) {
      const bytes = await readSpan(repo, packId, span);
      // Opened here: trees are small, and the blob worker threads are then never started.
      for (const { loc } of span.blobs)
        into.set(loc.id, decodeTree(repo.decodeBlob(loc, sealedIn(bytes, span.offset, loc))));
    }
  });
}

/** Loads the directory tree `root` and everything below it. */
export async function loadListing(repo: Repository, root: string): Promise<DirListing> {
  const trees = new Map<string, TreeNode[]>();
  let wanted = new Set([root]);
  while (wanted.size > 0) {
    await loadTrees(repo, wanted, trees);
    const next = new Set<string>();
    for (const id of wanted)
      for (const child of trees.get(id)!)
        if (child.type === 'dir' && child.subtree && !trees.has(child.subtree)) next.add(child.subtree);
    wanted = next;
  }
  const build = (id: string): DirListing => {
    const children = trees.get(id)!;
    const subdirs = new Map<TreeNode, DirListing>();
    for (const child of children)
      if (child.type === 'dir' && child.subtree) subdirs.set(child, build(child.subtree));
    return { children, subdirs };
  };
  return build(root);
}
