/**
 * Counts the files and bytes a path backup will visit, for progress and ETA. Runs beside the
 * backup and never fails it: unreadable entries are skipped.
 */
import { promises as fsp } from 'node:fs';
import { excludeMatcher } from '../engine/exclude.js';

export interface ScanTotals {
  files: number;
  bytes: number;
  done: boolean;
}

export async function scanTotals(
  targets: readonly string[],
  excludes: readonly string[],
  totals: ScanTotals,
): Promise<void> {
  const exclude = excludeMatcher(excludes);
  const visit = async (p: string): Promise<void> => {
    if (exclude.matches(p)) return;
    const st = await fsp.lstat(p).catch(() => undefined);
    if (!st) return;
    if (st.isFile()) {
      totals.files++;
      totals.bytes += st.size;
    } else if (st.isDirectory()) {
      const names = await fsp.readdir(p).catch(() => [] as string[]);
      for (const n of names) await visit(p === '/' ? `/${n}` : `${p}/${n}`);
    }
  };
  for (const t of targets) await visit(t);
  totals.done = true;
}
