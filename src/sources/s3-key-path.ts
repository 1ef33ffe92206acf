/**
 * Where an S3 object goes in a snapshot: `/s3/<bucket>/<key>`, one directory level per `/`
 * in the key. S3 keys may hold what a path cannot, so segments are escaped reversibly:
 * `%` → `%25`; an empty segment (a leading `/`, `a//b`, a trailing `/`) → `%`; `.` → `%2E`
 * and `..` → `%2E%2E`. When a key is also the "directory" of other keys (`a` and `a/b`), its
 * file gets a trailing `%` (`a%`). Everything else (spaces, `+`, unicode) is kept as is.
 * The exact key is also recorded in the snapshot's metadata file, which restore uses.
 */

export function encodeKeySegment(seg: string): string {
  if (seg === '') return '%';
  if (seg === '.' || seg === '..') return seg.replace(/\./g, '%2E');
  return seg.replace(/%/g, '%25');
}

/** `/s3/<bucket>/<escaped key>` (without the directory-conflict mark). */
export function objectPath(root: string, bucket: string, key: string): string {
  return `${root}/${bucket}/${key.split('/').map(encodeKeySegment).join('/')}`;
}

/** The key a path below `<root>/<bucket>/` stands for (inverse of objectPath and its mark). */
export function keyOfPath(relative: string): string {
  return relative
    .split('/')
    .map((seg, i, all) => {
      if (i === all.length - 1 && seg.length > 1 && seg.endsWith('%')) seg = seg.slice(0, -1);
      return seg === '%' ? '' : seg.replace(/%(2E|2e|25)/g, (m) => (m === '%25' ? '%' : '.'));
    })
    .join('/');
}

/** Marks the files whose path is also a directory of another file (`a` beside `a/b` → `a%`). */
export function resolveDirConflicts(paths: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const p of paths)
    for (let i = p.indexOf('/', 1); i > 0; i = p.indexOf('/', i + 1)) dirs.add(p.slice(0, i));
  return paths.map((p) => (dirs.has(p) ? `${p}%` : p));
}
