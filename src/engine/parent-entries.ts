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
import { isGoId } from './gojson.js';
import { goUnquote } from './goquote.js';
import { GO_ZERO_TIME, normalizeGoTime } from './gotime.js';
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

/** Replacement characters (raw or escaped) and surrogate escapes: the lossless decoder's cases. */
const LOSSY = /\ufffd|\\u[fF]{3}[dD]|\\u[dD][89a-fA-F]/;

const u32 = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const u64 = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const str = (v: unknown) => typeof v === 'string';
const id = (v: unknown) => typeof v === 'string' && isGoId(v);

/** Each field decodeTree knows, with the values it accepts (null is accepted for every one). */
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
    linktarget_raw: () => false, // base64 to check: left to decodeTree
    extended_attributes: () => false, // likewise
    device: u64,
    content: (v) => Array.isArray(v) && v.every(id),
    subtree: id,
    error: str,
  }),
);

function plainEntry(o: Record<string, unknown>): ParentEntry | undefined {
  for (const key in o) {
    const ok = FIELD_OK.get(key);
    const v = o[key];
    if (!ok || (v !== null && !ok(v))) return undefined;
  }
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

/** The entries of a plain tree, or undefined when it needs the lossless decoder. */
function plainEntries(bytes: Buffer): ParentEntry[] | undefined {
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
  const out: ParentEntry[] = new Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const n: unknown = nodes[i];
    if (typeof n !== 'object' || n === null || Array.isArray(n)) return undefined;
    const e = plainEntry(n as Record<string, unknown>);
    if (!e) return undefined;
    out[i] = e;
  }
  return out;
}

/** A parent tree's entries in stored order; throws like decodeTree for a tree it rejects. */
export function parentEntries(bytes: Buffer): ParentEntry[] {
  return plainEntries(bytes) ?? decodeTree(bytes);
}
