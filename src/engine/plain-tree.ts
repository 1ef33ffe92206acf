/**
 * Trees in the plain form restic and holdfast write (exact lowercase field names, values
 * decodeTree certainly accepts, no replacement characters or surrogate escapes), read with
 * the native JSON.parse: several times faster than the lossless decoder (tree.ts). Shared by
 * the backup's view of its parent's trees (parent-entries.ts) and check's walk over trees
 * (check-trees.ts); any other tree is left to decodeTree, which decodes it or rejects it.
 */
import { isGoId } from './gojson.js';

/** Replacement characters (raw or escaped) and surrogate escapes: the lossless decoder's cases. */
const LOSSY = /\ufffd|\\u[fF]{3}[dD]|\\u[dD][89a-fA-F]/;

const u32 = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const u64 = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const str = (v: unknown) => typeof v === 'string';
const id = (v: unknown) => typeof v === 'string' && isGoId(v);

/**
 * Each field decodeTree knows, with the values it certainly accepts (null is accepted for
 * every one). Times are strings here: a caller that needs them valid checks them apart.
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
    linktarget_raw: () => false, // base64 to check: left to decodeTree
    extended_attributes: () => false, // likewise
    device: u64,
    content: (v) => Array.isArray(v) && v.every(id),
    subtree: id,
    error: str,
  }),
);

/** The nodes of a plain tree as parsed objects, or undefined when it needs decodeTree. */
export function plainTreeObjects(bytes: Buffer): Record<string, unknown>[] | undefined {
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
  for (const n of nodes as unknown[]) {
    if (typeof n !== 'object' || n === null || Array.isArray(n)) return undefined;
    const o = n as Record<string, unknown>;
    for (const key in o) {
      const ok = FIELD_OK.get(key);
      const v = o[key];
      if (!ok || (v !== null && !ok(v))) return undefined;
    }
  }
  return nodes as Record<string, unknown>[];
}
