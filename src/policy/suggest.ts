/**
 * "Did you mean": the allowed word nearest to a misspelt one (Levenshtein distance with
 * swapped neighbours counting as one edit, plus matches that differ only in case, '-' or
 * '_' such as keep_daily for keepDaily).
 */

/** Edit distance: insertions, deletions, substitutions and adjacent swaps cost 1. */
export function levenshtein(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

const fold = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');

/** The nearest candidate close enough to be a likely typo, or undefined. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const folded = candidates.find((c) => fold(c) === fold(word));
  if (folded) return folded;
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = levenshtein(fold(word), fold(c));
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return bestDist <= limit ? best : undefined;
}

/** ` — did you mean "x"?` or ` — use one of: a, b, c` as the fix part of a message. */
export function suggestion(word: string, candidates: readonly string[], what = 'use one of'): string {
  const near = didYouMean(word, candidates);
  if (near) return `did you mean "${near}"?`;
  if (candidates.length === 0) return 'none are defined';
  return `${what}: ${candidates.join(', ')}`;
}
