/**
 * Restore planning: from a snapshot's loaded trees, lists what a restore makes (regular
 * files with their blobs, hard links, symlinks and other special files, directories), then
 * groups the data blobs the files need by pack, in the order the files first need them, and
 * splits each pack's needed blobs into a few byte ranges ("spans") to read, so that every
 * pack is read once however many files and places need its blobs.
 */
import { fail } from '../errors.js';
import { type BlobLocation, lookupBlob, type MasterIndex, plaintextLength } from './master-index.js';
import type { TreeNode } from './node.js';
import { MAX_GAP, MAX_SPAN, type PackSpan, splitSpans } from './pack-span.js';

/** A regular file to write (its first path when it has hard links in the snapshot). */
export interface PlannedFile {
  path: Buffer;
  node: TreeNode;
  /** Sum of the plaintext lengths of its blobs: the restored size. */
  size: number;
  /** Writes it needs (one per entry of its content, a blob repeated in it counts each time). */
  writes: number;
}

/** Another name of a multiply-linked inode: linked to `target` once that file is written. */
export interface PlannedLink {
  path: Buffer;
  target: PlannedFile;
}

/** A directory, symlink, fifo or unsupported node, with where it goes. */
export interface PlannedEntry {
  path: Buffer;
  node: TreeNode;
}

export interface RestorePlan {
  /** Regular files in tree order (each directory's files, then its other entries). */
  files: PlannedFile[];
  links: PlannedLink[];
  /** Symlinks, fifos and nodes of types that are not restored (warned about). */
  specials: PlannedEntry[];
  /** Directories, parents before children. */
  dirs: PlannedEntry[];
}

/** One place a blob's plaintext goes. */
export interface BlobTarget {
  file: PlannedFile;
  offset: number;
}

export interface NeededBlob {
  loc: BlobLocation;
  targets: BlobTarget[];
}

export interface PackJob {
  packId: string;
  spans: PackSpan<NeededBlob>[];
}

/** A directory's entries and, for each subdirectory among them, its own listing. */
export interface DirListing {
  children: TreeNode[];
  subdirs: Map<TreeNode, DirListing>;
}

function join(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, Buffer.from('/'), name]);
}

function emptyPlan(): RestorePlan {
  return { files: [], links: [], specials: [], dirs: [] };
}

/** Size and write count of a file, from the index; a blob missing from it is NOT_FOUND. */
function addFile(
  plan: RestorePlan,
  firstOfInode: Map<string, PlannedFile>,
  index: MasterIndex,
  path: Buffer,
  node: TreeNode,
): void {
  const key = `${node.deviceId ?? 0n}:${node.inode ?? 0n}`;
  const linked = (node.links ?? 1n) > 1n;
  const first = linked ? firstOfInode.get(key) : undefined;
  if (first) {
    plan.links.push({ path, target: first });
    return;
  }
  let size = 0;
  const content = node.content ?? [];
  for (const id of content) {
    const loc = lookupBlob(index, 'data', id);
    if (!loc) fail('NOT_FOUND', `data blob ${id} is not in the index`);
    size += plaintextLength(loc);
  }
  const file: PlannedFile = { path, node, size, writes: content.length };
  plan.files.push(file);
  if (linked) firstOfInode.set(key, file);
}

function addEntries(
  plan: RestorePlan,
  firstOfInode: Map<string, PlannedFile>,
  index: MasterIndex,
  dir: Buffer,
  listing: DirListing,
): void {
  for (const child of listing.children)
    if (child.type === 'file') addFile(plan, firstOfInode, index, join(dir, child.name), child);
  for (const child of listing.children) {
    if (child.type === 'file') continue;
    const path = join(dir, child.name);
    if (child.type !== 'dir') {
      plan.specials.push({ path, node: child });
      continue;
    }
    plan.dirs.push({ path, node: child });
    const sub = listing.subdirs.get(child);
    if (sub) addEntries(plan, firstOfInode, index, path, sub);
  }
}

/**
 * The plan for restoring `node` into `target`: a directory node's contents go directly into
 * the target (its `listing` loaded beforehand), any other node becomes target/NAME.
 */
export function planRestore(
  index: MasterIndex,
  node: TreeNode,
  target: Buffer,
  listing: DirListing | undefined,
): RestorePlan {
  const plan = emptyPlan();
  const firstOfInode = new Map<string, PlannedFile>();
  if (node.type === 'dir') {
    if (listing) addEntries(plan, firstOfInode, index, target, listing);
  } else addEntries(plan, firstOfInode, index, target, { children: [node], subdirs: new Map() });
  return plan;
}

/**
 * The packs to read, in the order the files (in plan order) first need them, each with the
 * places every needed blob goes. A blob is listed once per pack however often it is needed.
 */
export function packJobs(index: MasterIndex, files: readonly PlannedFile[], maxSpan = MAX_SPAN): PackJob[] {
  const packs = new Map<string, Map<string, NeededBlob>>();
  for (const file of files) {
    let offset = 0;
    for (const id of file.node.content ?? []) {
      const loc = lookupBlob(index, 'data', id);
      if (!loc) fail('NOT_FOUND', `data blob ${id} is not in the index`);
      let pack = packs.get(loc.packId);
      if (!pack) packs.set(loc.packId, (pack = new Map()));
      let needed = pack.get(id);
      if (!needed) pack.set(id, (needed = { loc, targets: [] }));
      needed.targets.push({ file, offset });
      offset += plaintextLength(loc);
    }
  }
  return [...packs].map(([packId, blobs]) => ({
    packId,
    spans: splitSpans([...blobs.values()], MAX_GAP, maxSpan),
  }));
}
