/**
 * Builds a tree node from lstat() results, with restic's field rules (restic-format.md §8):
 * Go mode bits, ns times in the local zone, atime = mtime, uid/gid with names, inode,
 * device_id, size (files), links (files, symlinks, devices), rdev (devices).
 */
import type { BigIntStats } from 'node:fs';
import { formatGoTime, localOffsetMinutes } from './gotime.js';
import { GoMode, type NodeType, type TreeNode } from './node.js';
import type { NameTables } from './os-users.js';

export function nodeTypeOf(st: BigIntStats): NodeType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isBlockDevice()) return 'dev';
  if (st.isCharacterDevice()) return 'chardev';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'irregular';
}

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

const TYPE_BITS: Record<NodeType, number> = {
  file: 0,
  dir: GoMode.dir,
  symlink: GoMode.symlink,
  dev: GoMode.device,
  chardev: GoMode.device | GoMode.charDevice,
  fifo: GoMode.namedPipe,
  socket: GoMode.socket,
  irregular: GoMode.irregular,
};

/** Go os.FileMode for a Unix st_mode. */
export function goModeOf(type: NodeType, stMode: number): number {
  let mode = (stMode & 0o777) | TYPE_BITS[type];
  if (stMode & S_ISUID) mode |= GoMode.setuid;
  if (stMode & S_ISGID) mode |= GoMode.setgid;
  if (stMode & S_ISVTX) mode |= GoMode.sticky;
  return mode >>> 0;
}

/** Unix permission and special bits back from a Go mode. */
export function unixPermOf(goMode: number): number {
  let perm = goMode & 0o777;
  if (goMode & GoMode.setuid) perm |= S_ISUID;
  if (goMode & GoMode.setgid) perm |= S_ISGID;
  if (goMode & GoMode.sticky) perm |= S_ISVTX;
  return perm;
}

export function timeOf(ns: bigint): string {
  return formatGoTime(ns, localOffsetMinutes(Number(ns / 1_000_000n)));
}

export function nodeFromStat(name: Buffer, st: BigIntStats, names: NameTables): TreeNode {
  const type = nodeTypeOf(st);
  const mtime = timeOf(st.mtimeNs);
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  const node: TreeNode = {
    name,
    type,
    mode: goModeOf(type, Number(st.mode)),
    mtime,
    atime: mtime,
    // A file written once has ctime = mtime: the text is formatted once.
    ctime: st.ctimeNs === st.mtimeNs ? mtime : timeOf(st.ctimeNs),
    uid,
    gid,
    user: names.users.get(uid),
    group: names.groups.get(gid),
    inode: st.ino,
    deviceId: st.dev,
    content: null,
  };
  if (type === 'file') node.size = st.size;
  if (type === 'file' || type === 'symlink' || type === 'dev' || type === 'chardev') node.links = st.nlink;
  if (type === 'dev' || type === 'chardev') node.device = st.rdev;
  return node;
}
