/**
 * A backup's view of its parent's trees: for each entry, what decides whether a file is
 * unchanged (type, times, size, inode) and what is reused (content, subtree). A tree in the
 * plain form restic and holdfast write (exact lowercase field names, integers that fit a
 * double, no replacement characters or surrogate escapes) is read with the native
 * JSON.parse, several times faster than the lossless decoder; any other tree goes through
 * decodeTree. Both give the same values; times are kept as stored and compared with
 * sameGoTime (normalised only when they differ), so a time Go could not parse makes its
 * file count as changed instead of the whole tree being ignored.
 */
import { goUnquote } from './goquote.js';
import { GO_ZERO_TIME, normalizeGoTime } from './gotime.js';
import { plainTreeObjects } from './plain-tree.js';
import { decodeTree } from './tree.js';

export interface ParentEntry {
  name: Buffer;
  type: string;
  /** As stored: compare with sameGoTime. */
  mtime: string;
  ctime: string;
  size?: bigint;
  inode?: bigint;
  content: string[] | null;
  subtree?: string;
}

/** True when the stored time `stored` is the instant and offset Go writes as `canonical`. */
export function sameGoTime(stored: string, canonical: string): boolean {
  if (stored === canonical) return true;
  try {
    return normalizeGoTime(stored) === canonical;
  } catch {
    return false;
  }
}

function plainEntry(o: Record<string, unknown>): ParentEntry {
  const time = (v: unknown) => (typeof v === 'string' ? v : GO_ZERO_TIME);
  const e: ParentEntry = {
    name: goUnquote(typeof o.name === 'string' ? o.name : ''),
    type: typeof o.type === 'string' ? o.type : '',
    mtime: time(o.mtime),
    ctime: time(o.ctime),
    content: Array.isArray(o.content) ? (o.content as string[]).map((x) => x.toLowerCase()) : null,
  };
  if (typeof o.size === 'number') e.size = BigInt(o.size);
  if (typeof o.inode === 'number') e.inode = BigInt(o.inode);
  if (typeof o.subtree === 'string') e.subtree = o.subtree.toLowerCase();
  return e;
}

/** A parent tree's entries in stored order; throws like decodeTree for a tree it rejects. */
export function parentEntries(bytes: Buffer): ParentEntry[] {
  return plainTreeObjects(bytes)?.map(plainEntry) ?? decodeTree(bytes);
}
