/**
 * Loading and saving tree blobs through a repository, and the parent-tree reads of a backup:
 * opened on the calling thread (a tree is a few kilobytes; a round trip to a worker costs
 * more than opening it) and kept with their exact plaintext, so that a directory whose new
 * tree is byte-identical to its parent's is known by the parent's ID without hashing or
 * storing anything.
 */
import { fail, HoldfastError } from '../errors.js';
import { type BlobLocation, lookupBlob } from './master-index.js';
import type { TreeNode } from './node.js';
import { splitSpans } from './pack-span.js';
import { profiledAsync } from './profile.js';
import type { Repository } from './repository.js';
import { decodeTree, encodeTree } from './tree.js';

export async function loadTree(repo: Repository, id: string): Promise<TreeNode[]> {
  return decodeTree(await repo.loadBlob('tree', id));
}

export async function saveTree(repo: Repository, nodes: TreeNode[]): Promise<string> {
  return (await repo.saveBlob('tree', encodeTree(nodes))).id;
}

/** A tree blob's ID and plaintext (decodeTree gives its nodes). */
export interface LoadedTree {
  id: string;
  bytes: Buffer;
}

/**
 * Loads a tree blob and opens it on this thread (verified against its ID like loadBlob). The
 * nodes are left to decode when needed: a tree loaded ahead of use stays one buffer, not
 * hundreds of objects for the garbage collector to move.
 */
export async function loadTreeBytes(repo: Repository, id: string): Promise<LoadedTree> {
  const loc = lookupBlob(repo.index, 'tree', id);
  if (!loc) return fail('NOT_FOUND', `tree blob ${id} is not in the index`);
  const sealed = await profiledAsync('read', loc.length, () =>
    repo.backend.load({ type: 'pack', name: loc.packId }, loc.offset, loc.length),
  );
  return { id, bytes: repo.decodeBlob(loc, sealed) };
}

/** Blobs further apart than this in a pack are read separately rather than in one range. */
const MAX_GAP = 256 * 1024;
/** The longest range read for several tree blobs at once. */
const MAX_SPAN = 4 * 1024 * 1024;

/**
 * Loads several tree blobs with as few reads as possible: blobs that lie close together in
 * one pack (a directory's subtrees usually do) come in one range read, then each is opened
 * and verified on its own. Returns one promise per distinct ID; the caller must handle every
 * one (a tree loaded ahead may never be used).
 */
export function loadTreesBytes(repo: Repository, ids: readonly string[]): Map<string, Promise<LoadedTree>> {
  const out = new Map<string, Promise<LoadedTree>>();
  const byPack = new Map<string, BlobLocation[]>();
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    const loc = lookupBlob(repo.index, 'tree', id);
    if (!loc) {
      out.set(id, Promise.reject(new HoldfastError('NOT_FOUND', `tree blob ${id} is not in the index`)));
      continue;
    }
    const list = byPack.get(loc.packId);
    if (list) list.push(loc);
    else byPack.set(loc.packId, [loc]);
  }
  for (const [packId, locs] of byPack) {
    for (const span of splitSpans(
      locs.map((loc) => ({ loc })),
      MAX_GAP,
      MAX_SPAN,
    )) {
      const range = profiledAsync('read', span.length, () =>
        repo.backend.load({ type: 'pack', name: packId }, span.offset, span.length),
      );
      for (const { loc } of span.blobs) {
        const at = loc.offset - span.offset;
        out.set(
          loc.id,
          range.then((buf) => ({
            id: loc.id,
            bytes: repo.decodeBlob(loc, buf.subarray(at, at + loc.length)),
          })),
        );
      }
    }
  }
  return out;
}

/**
 * Saves the tree for `nodes`; when its bytes equal `parent`'s, the blob is already stored
 * under the parent's ID (which it was verified against when loaded), so nothing is hashed
 * or saved.
 */
export async function saveTreeLike(
  repo: Repository,
  nodes: TreeNode[],
  parent: LoadedTree | undefined,
): Promise<string> {
  const bytes = encodeTree(nodes);
  if (parent && bytes.equals(parent.bytes) && repo.hasBlob('tree', parent.id)) return parent.id;
  return (await repo.saveBlob('tree', bytes)).id;
}
