/**
 * Tree blobs: the JSON restic stores for one directory, byte-identical to restic 0.14's output
 * so that identical directories get identical tree IDs. Nodes are sorted bytewise by raw name,
 * fields follow Go's struct order and omitempty rules, names are strconv.Quote'd and then JSON
 * encoded, and the document ends in a newline. Decoding is tolerant like Go's encoding/json
 * (case-insensitive field names, unknown fields ignored) but rejects values of the wrong type.
 * Symlink targets that are not valid UTF-8 are written lossily (as 0.14 does) plus, as restic
 * 0.16 and later do, a `linktarget_raw` base64 copy that is preferred when reading. A target
 * that an older restic stored lossily is flagged (linktargetLossy) so it re-encodes identically.
 */
import { isUtf8 } from 'node:buffer';
import { fail } from '../errors.js';
import {
  goJsonBase64,
  goJsonBytesString,
  goJsonString,
  isGoId,
  isJsonObject,
  matchField,
  parseGoBase64,
  parseJsonLossless,
} from './gojson.js';
import { goQuote, goUnquote } from './goquote.js';
import { GO_ZERO_TIME, normalizeGoTime } from './gotime.js';
import type { ExtendedAttribute, NodeType, TreeNode } from './node.js';

/** Sorts nodes in place bytewise by raw name (Go string order) and returns the same array. */
export function sortNodes(nodes: TreeNode[]): TreeNode[] {
  return nodes.sort((a, b) => Buffer.compare(a.name, b.name));
}

/** The bytes of a tree with no entries: `{"nodes":[]}` and a newline. */
export function emptyTreeBytes(): Buffer {
  return Buffer.from('{"nodes":[]}\n');
}

function uintField(name: string, v: bigint | undefined): string {
  return v ? `,"${name}":${v.toString()}` : '';
}

function encodeNode(n: TreeNode): string {
  let s = `{"name":${goJsonString(goQuote(n.name))},"type":${goJsonString(n.type)}`;
  if (n.mode) s += `,"mode":${n.mode >>> 0}`;
  s += `,"mtime":${goJsonString(n.mtime || GO_ZERO_TIME)}`;
  s += `,"atime":${goJsonString(n.atime || GO_ZERO_TIME)}`;
  s += `,"ctime":${goJsonString(n.ctime || GO_ZERO_TIME)}`;
  s += `,"uid":${n.uid >>> 0},"gid":${n.gid >>> 0}`;
  if (n.user) s += `,"user":${goJsonString(n.user)}`;
  if (n.group) s += `,"group":${goJsonString(n.group)}`;
  s += uintField('inode', n.inode) + uintField('device_id', n.deviceId);
  s += uintField('size', n.size) + uintField('links', n.links);
  if (n.linktarget && n.linktarget.length > 0) {
    const target = goJsonBytesString(n.linktarget);
    s += `,"linktarget":${n.linktargetLossy ? target.replace(/\ufffd/g, '\\ufffd') : target}`;
    if (!isUtf8(n.linktarget)) s += `,"linktarget_raw":${goJsonBase64(n.linktarget)}`;
  }
  if (n.extendedAttributes && n.extendedAttributes.length > 0) {
    const xs = n.extendedAttributes.map(
      (x) => `{"name":${goJsonString(x.name)},"value":${goJsonBase64(x.value)}}`,
    );
    s += `,"extended_attributes":[${xs.join(',')}]`;
  }
  s += uintField('device', n.device);
  s += n.content === null ? ',"content":null' : `,"content":[${n.content.map((id) => `"${id}"`).join(',')}]`;
  if (n.subtree) s += `,"subtree":"${n.subtree}"`;
  if (n.error) s += `,"error":${goJsonString(n.error)}`;
  return s + '}';
}

/**
 * The tree blob restic 0.14 writes for these nodes (sorted by raw name; the input array is
 * not modified). Two nodes with the same name are an error.
 */
export function encodeTree(nodes: readonly TreeNode[]): Buffer {
  const sorted = sortNodes([...nodes]);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1].name.equals(sorted[i].name)) {
      fail('INTEGRITY', `a tree cannot hold two entries named ${JSON.stringify(goQuote(sorted[i].name))}`);
    }
  }
  return Buffer.from(`{"nodes":[${sorted.map(encodeNode).join(',')}]}\n`, 'utf8');
}

const TREE_FIELDS = new Set(['nodes']);
const NODE_FIELDS = new Set([
  'name',
  'type',
  'mode',
  'mtime',
  'atime',
  'ctime',
  'uid',
  'gid',
  'user',
  'group',
  'inode',
  'device_id',
  'size',
  'links',
  'linktarget',
  'linktarget_raw',
  'extended_attributes',
  'device',
  'content',
  'subtree',
  'error',
]);
const XATTR_FIELDS = new Set(['name', 'value']);

const MAX_U64 = (1n << 64n) - 1n;

function wrongType(field: string, v: unknown): never {
  return fail('INTEGRITY', `tree node field "${field}" has an invalid value ${String(v)}`);
}

function asString(field: string, v: unknown): string {
  return typeof v === 'string' ? v : wrongType(field, v);
}

function asU32(field: string, v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : wrongType(field, v);
}

function asU64(field: string, v: unknown): bigint {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'bigint' && v >= 0n && v <= MAX_U64) return v;
  return wrongType(field, v);
}

function asId(field: string, v: unknown): string {
  return typeof v === 'string' && isGoId(v) ? v.toLowerCase() : wrongType(field, v);
}

function decodeXattr(v: unknown): ExtendedAttribute {
  if (!isJsonObject(v)) return wrongType('extended_attributes', v);
  const x: ExtendedAttribute = { name: '', value: Buffer.alloc(0) };
  for (const [key, val] of Object.entries(v)) {
    const f = matchField(key, XATTR_FIELDS);
    if (f === undefined || val === null) continue;
    if (f === 'name') x.name = asString('extended_attributes.name', val);
    else x.value = parseGoBase64(asString('extended_attributes.value', val), 'extended attribute value');
  }
  return x;
}

/** Per-tree decoding state: strings Go wrote with escaped U+FFFD, and times already normalised. */
interface DecodeContext {
  escapedReplacement: ReadonlySet<string>;
  times: Map<string, string>;
}

function decodeTime(field: string, v: unknown, ctx: DecodeContext): string {
  const s = asString(field, v);
  let t = ctx.times.get(s);
  if (t === undefined) {
    t = normalizeGoTime(s);
    ctx.times.set(s, t);
  }
  return t;
}

function decodeNode(v: unknown, ctx: DecodeContext): TreeNode {
  if (!isJsonObject(v)) return wrongType('nodes', v);
  const n: TreeNode = {
    name: Buffer.alloc(0),
    type: '' as NodeType,
    mode: 0,
    mtime: GO_ZERO_TIME,
    atime: GO_ZERO_TIME,
    ctime: GO_ZERO_TIME,
    uid: 0,
    gid: 0,
    content: null,
  };
  let quotedName = '';
  let raw: Buffer | undefined;
  for (const key in v) {
    const val = v[key];
    const f = matchField(key, NODE_FIELDS);
    if (f === undefined) continue;
    if (val === null) {
      if (f === 'content') n.content = null;
      else if (f === 'subtree') delete n.subtree;
      else if (f === 'extended_attributes') delete n.extendedAttributes;
      else if (f === 'linktarget_raw') raw = undefined;
      continue;
    }
    switch (f) {
      case 'name':
        quotedName = asString(f, val);
        break;
      case 'type':
        n.type = asString(f, val) as NodeType;
        break;
      case 'mode':
        n.mode = asU32(f, val);
        break;
      case 'mtime':
      case 'atime':
      case 'ctime':
        n[f] = decodeTime(f, val, ctx);
        break;
      case 'uid':
      case 'gid':
        n[f] = asU32(f, val);
        break;
      case 'user':
      case 'group':
      case 'error':
        n[f] = asString(f, val);
        break;
      case 'inode':
        n.inode = asU64(f, val);
        break;
      case 'device_id':
        n.deviceId = asU64(f, val);
        break;
      case 'size':
      case 'links':
      case 'device':
        n[f] = asU64(f, val);
        break;
      case 'linktarget':
        n.linktarget = Buffer.from(asString(f, val), 'utf8');
        if (ctx.escapedReplacement.has(val as string)) n.linktargetLossy = true;
        else delete n.linktargetLossy;
        break;
      case 'linktarget_raw':
        raw = parseGoBase64(asString(f, val), 'linktarget_raw');
        break;
      case 'extended_attributes':
        if (!Array.isArray(val)) wrongType(f, val);
        n.extendedAttributes = val.map(decodeXattr);
        break;
      case 'content':
        if (!Array.isArray(val)) wrongType(f, val);
        n.content = val.map((id) => asId(f, id));
        break;
      case 'subtree':
        n.subtree = asId(f, val);
        break;
    }
  }
  n.name = goUnquote(quotedName);
  if (raw !== undefined) {
    n.linktarget = raw;
    delete n.linktargetLossy;
  }
  return n;
}

/** Decodes a tree blob's plaintext into its nodes, in stored order. */
export function decodeTree(plaintext: Uint8Array): TreeNode[] {
  const escapedReplacement = new Set<string>();
  const doc = parseJsonLossless(plaintext, { escapedReplacement });
  if (!isJsonObject(doc)) return fail('INTEGRITY', 'tree blob is not a JSON object');
  let nodes: unknown = null;
  for (const [key, val] of Object.entries(doc)) if (matchField(key, TREE_FIELDS) === 'nodes') nodes = val;
  if (nodes === null) return [];
  if (!Array.isArray(nodes)) return fail('INTEGRITY', 'tree blob "nodes" is not an array');
  const ctx: DecodeContext = { escapedReplacement, times: new Map() };
  return nodes.map((n) => decodeNode(n, ctx));
}
