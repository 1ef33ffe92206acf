/**
 * User and group names for uid/gid, read from /etc/passwd and /etc/group (Node has no
 * getpwuid). Used to fill a node's user/group fields as restic does.
 */
import { readFileSync } from 'node:fs';

export interface NameTables {
  users: Map<number, string>;
  groups: Map<number, string>;
}

function parseDb(file: string): Map<number, string> {
  const out = new Map<number, string>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^\d+$/.test(f[2]) && !out.has(Number(f[2]))) out.set(Number(f[2]), f[0]);
  }
  return out;
}

export function loadNameTables(): NameTables {
  return { users: parseDb('/etc/passwd'), groups: parseDb('/etc/group') };
}

/** uid/gid for a name, or undefined; used on restore to map names back. */
export function idForName(map: Map<number, string>, name: string): number | undefined {
  for (const [id, n] of map) if (n === name) return id;
  return undefined;
}
