/**
 * The node of a restic tree (one directory entry), as holdfast holds it in memory.
 * Names, link targets and xattr values are raw bytes; 64-bit counters are bigints;
 * times are RFC 3339 strings exactly as Go writes them (see gotime.ts), so a tree read from
 * restic and written back keeps its bytes and therefore its ID.
 */

export type NodeType = 'file' | 'dir' | 'symlink' | 'dev' | 'chardev' | 'fifo' | 'socket' | 'irregular';

export interface ExtendedAttribute {
  name: string;
  value: Buffer;
}

export interface TreeNode {
  name: Buffer;
  type: NodeType;
  /** Go os.FileMode bits: permission bits | type bits | setuid/setgid/sticky bits. */
  mode: number;
  mtime: string;
  atime: string;
  ctime: string;
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  inode?: bigint;
  deviceId?: bigint;
  size?: bigint;
  links?: bigint;
  /** Raw bytes of the symlink target. */
  linktarget?: Buffer;
  /**
   * Set when read from a tree that stored the target lossily (restic < 0.16 with a non-UTF-8
   * target: each bad byte became an escaped \ufffd and the raw bytes are lost). Re-encoding then
   * writes U+FFFD as that escape again, so the tree keeps its bytes and ID.
   */
  linktargetLossy?: boolean;
  extendedAttributes?: ExtendedAttribute[];
  device?: bigint;
  /** Data blob IDs (hex) in file order; [] for an empty file; null for anything but a file. */
  content: string[] | null;
  /** Tree blob ID (hex) of a directory's contents. */
  subtree?: string;
  error?: string;
}

/** Go os.FileMode type and special bits. */
export const GoMode = {
  dir: (1 << 31) >>> 0,
  symlink: 1 << 27,
  device: 1 << 26,
  charDevice: 1 << 21,
  namedPipe: 1 << 25,
  socket: 1 << 24,
  irregular: 1 << 19,
  setuid: 1 << 23,
  setgid: 1 << 22,
  sticky: 1 << 20,
} as const;
