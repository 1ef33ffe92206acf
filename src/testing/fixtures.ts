/**
 * Test fixtures: a generated directory tree holding every case a backup must preserve, a
 * deterministic byte generator, and a comparison of two trees (content and metadata) that
 * returns the differences found.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

/** Deterministic pseudo-random bytes (xorshift32), fast enough for hundreds of MB. */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 0x9e3779b9;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const b = (s: string) => Buffer.from(s);
const join = (dir: Buffer, name: Buffer | string) =>
  Buffer.concat([dir, b('/'), typeof name === 'string' ? b(name) : name]);

export interface TreeOptions {
  /** Size of the large random file in bytes (default 12 MiB). */
  largeSize?: number;
  /** A string written into some files (for confidentiality tests). */
  marker?: string;
}

/**
 * Creates a tree with: nested dirs, an empty dir, empty files, small and large files, a
 * sparse file, symlinks (relative, absolute, dangling, non-UTF-8 target), hard links, names
 * with spaces, a newline, non-UTF-8 bytes, quotes/backslashes and unicode, varied
 * permissions (incl. setuid and sticky), old and pre-1970 mtimes, and (as root) other
 * owners.
 */
export function makeTestTree(root: string, opts: TreeOptions = {}): void {
  const r = b(root);
  fs.mkdirSync(root, { recursive: true });
  const marker = opts.marker ?? 'no-marker';
  const mk = (p: Buffer) => fs.mkdirSync(p, { recursive: true });
  const write = (p: Buffer, data: Buffer | string, mode = 0o644) => {
    fs.writeFileSync(p, data);
    fs.chmodSync(p, mode);
  };

  mk(join(r, 'dir/sub/deeper'));
  mk(join(r, 'empty-dir'));
  write(join(r, 'empty-file'), '');
  write(join(r, 'dir/empty-too'), '');
  write(join(r, 'dir/small.txt'), `hello ${marker} world\n`);
  write(join(r, 'dir/sub/one-byte'), 'x');
  write(join(r, 'dir/sub/deeper/medium.bin'), pseudoRandomBytes(700_000, 7));
  write(
    join(r, 'large.bin'),
    Buffer.concat([pseudoRandomBytes(opts.largeSize ?? 12 * 1024 * 1024, 11), b(marker)]),
  );
  write(join(r, 'zeros.bin'), Buffer.alloc(9 * 1024 * 1024));
  // Sparse: data at the start and the end, a hole between.
  const sparse = join(r, 'sparse.img');
  const fd = fs.openSync(sparse, 'w');
  fs.writeSync(fd, pseudoRandomBytes(4096, 3), 0, 4096, 0);
  fs.writeSync(fd, b('tail'), 0, 4, 40 * 1024 * 1024);
  fs.closeSync(fd);

  write(join(r, 'name with spaces.txt'), 'spaces');
  write(join(r, 'new\nline'), 'newline in the name');
  write(join(r, Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2e, 0x74])), 'not utf-8 name');
  write(join(r, 'we"ird<&>\\name.txt'), 'quotes');
  write(join(r, 'ctl\x01name'), 'control char');
  write(join(r, 'unicodé-日本語-🎉-nb\u00a0sp'), 'unicode');
  write(join(r, 'tab\tname'), 'tab');

  write(join(r, 'private.key'), 'secret-ish', 0o600);
  write(join(r, 'script.sh'), '#!/bin/sh\necho hi\n', 0o755);
  write(join(r, 'readonly.txt'), 'read only', 0o444);
  write(join(r, 'setuid-bin'), 'suid', 0o4755);
  mk(join(r, 'sticky-dir'));
  fs.chmodSync(join(r, 'sticky-dir'), 0o1777);
  fs.chmodSync(join(r, 'dir/sub'), 0o750);

  fs.symlinkSync('dir/small.txt', join(r, 'link-relative'));
  fs.symlinkSync('/etc/hostname', join(r, 'link-absolute'));
  fs.symlinkSync('does/not/exist', join(r, 'link-dangling'));
  fs.symlinkSync(Buffer.from([0x74, 0xff, 0x67]), join(r, 'link-bad-utf8'));

  write(join(r, 'hardlink-a'), `linked ${marker}`);
  fs.linkSync(join(r, 'hardlink-a'), join(r, 'dir/hardlink-b'));

  const old = join(r, 'dir/old.txt');
  write(old, 'old file');
  fs.utimesSync(old, 1_000_000_000.123456, 1_000_000_000.123456);
  const ancient = join(r, 'dir/pre-1970.txt');
  write(ancient, 'before the epoch');
  fs.utimesSync(ancient, -86400 * 365, -86400 * 365);

  if (process.getuid?.() === 0) {
    const owned = join(r, 'owned-by-nobody');
    write(owned, 'other owner');
    fs.chownSync(owned, 65534, 65534);
    const numeric = join(r, 'owned-by-number');
    write(numeric, 'numeric owner');
    fs.chownSync(numeric, 4242, 4343);
  }
}

export interface CompareOptions {
  /** Compare mtimes to this many nanoseconds (holdfast restores with µs precision). */
  mtimeToleranceNs?: bigint;
  owners?: boolean;
  /** Ignore the mtime of directories (restic does not restore them for the target root). */
  skipRootMeta?: boolean;
}

function listAll(root: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const walk = (rel: Buffer) => {
    const abs = rel.length ? join(root, rel) : root;
    for (const name of fs.readdirSync(abs, { encoding: 'buffer' }).sort(Buffer.compare)) {
      const r = rel.length ? join(rel, name) : name;
      out.push(r);
      if (fs.lstatSync(join(root, r)).isDirectory()) walk(r);
    }
  };
  walk(Buffer.alloc(0));
  return out;
}

function fileHash(p: Buffer): string {
  return createHash('sha256').update(fs.readFileSync(p)).digest('hex');
}

/** Differences between two trees, as readable strings; [] when they are equal. */
export function compareTrees(a: string, bDir: string, opts: CompareOptions = {}): string[] {
  const ra = b(a);
  const rb = b(bDir);
  const diffs: string[] = [];
  const la = listAll(ra);
  const lb = listAll(rb);
  const key = (x: Buffer) => x.toString('hex');
  const setB = new Set(lb.map(key));
  for (const p of la) if (!setB.has(key(p))) diffs.push(`missing: ${p.toString('utf8')}`);
  const setA = new Set(la.map(key));
  for (const p of lb) if (!setA.has(key(p))) diffs.push(`extra: ${p.toString('utf8')}`);
  const tol = opts.mtimeToleranceNs ?? 0n;
  const inodesA = new Map<bigint, string>();
  const inodesB = new Map<bigint, string>();
  for (const p of la) {
    if (!setB.has(key(p))) continue;
    const name = p.toString('utf8');
    const pa = join(ra, p);
    const pb = join(rb, p);
    const sa = fs.lstatSync(pa, { bigint: true });
    const sb = fs.lstatSync(pb, { bigint: true });
    if ((sa.mode & 0o170000n) !== (sb.mode & 0o170000n)) {
      diffs.push(`type differs: ${name}`);
      continue;
    }
    if (!sa.isSymbolicLink() && (sa.mode & 0o7777n) !== (sb.mode & 0o7777n)) {
      diffs.push(`mode differs: ${name} ${sa.mode.toString(8)} vs ${sb.mode.toString(8)}`);
    }
    if (opts.owners !== false && (sa.uid !== sb.uid || sa.gid !== sb.gid)) {
      diffs.push(`owner differs: ${name} ${sa.uid}:${sa.gid} vs ${sb.uid}:${sb.gid}`);
    }
    const dt = sa.mtimeNs - sb.mtimeNs;
    if (!sa.isSymbolicLink() && (dt > tol || dt < -tol))
      diffs.push(`mtime differs: ${name} ${sa.mtimeNs} vs ${sb.mtimeNs}`);
    if (sa.isFile()) {
      if (sa.size !== sb.size) diffs.push(`size differs: ${name} ${sa.size} vs ${sb.size}`);
      else if (fileHash(pa) !== fileHash(pb)) diffs.push(`content differs: ${name}`);
      if (sa.nlink > 1n) {
        const firstA = inodesA.get(sa.ino);
        const firstB = inodesB.get(sb.ino);
        if (firstA !== undefined && firstA !== firstB) diffs.push(`hard link not preserved: ${name}`);
        inodesA.set(sa.ino, name);
        inodesB.set(sb.ino, name);
      }
      if (sa.nlink !== sb.nlink) diffs.push(`link count differs: ${name} ${sa.nlink} vs ${sb.nlink}`);
    }
    if (
      sa.isSymbolicLink() &&
      !fs.readlinkSync(pa, { encoding: 'buffer' }).equals(fs.readlinkSync(pb, { encoding: 'buffer' }))
    ) {
      diffs.push(`link target differs: ${name}`);
    }
  }
  return diffs;
}
