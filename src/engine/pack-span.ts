/**
 * Ranges of a pack worth reading at once: the blobs wanted from one pack, sorted by offset and
 * grouped so that one read covers blobs lying close together. Restore reads data blobs this
 * way; a backup reads its parent's trees this way.
 */
import type { BlobLocation } from './master-index.js';

/** A byte range of a pack, read at once, and the wanted blobs inside it (by offset). */
export interface PackSpan<T extends { loc: BlobLocation }> {
  offset: number;
  length: number;
  blobs: T[];
}

/** Limits of a span: blobs further apart than MAX_GAP, or a span longer than MAX_SPAN, split it. */
export const MAX_GAP = 1024 * 1024;
export const MAX_SPAN = 32 * 1024 * 1024;

/** Splits the wanted blobs of one pack into ranges to read. */
export function splitSpans<T extends { loc: BlobLocation }>(
  blobs: readonly T[],
  maxGap = MAX_GAP,
  maxSpan = MAX_SPAN,
): PackSpan<T>[] {
  const sorted = [...blobs].sort((a, b) => a.loc.offset - b.loc.offset);
  const spans: PackSpan<T>[] = [];
  let cur: PackSpan<T> | undefined;
  for (const b of sorted) {
    const end = b.loc.offset + b.loc.length;
    if (cur && b.loc.offset - (cur.offset + cur.length) <= maxGap && end - cur.offset <= maxSpan) {
      cur.length = Math.max(cur.length, end - cur.offset);
      cur.blobs.push(b);
    } else {
      cur = { offset: b.loc.offset, length: b.loc.length, blobs: [b] };
      spans.push(cur);
    }
  }
  return spans;
}
