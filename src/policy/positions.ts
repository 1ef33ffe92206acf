/**
 * Where a path of the parsed policy (e.g. assets.db.retention.within) is in the YAML text:
 * a 1-based line and column, taken from the yaml library's node ranges. A path that does
 * not exist (a missing key) points at the nearest entry that does.
 */
import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
} from 'yaml';
import type { Path } from './problems.js';

export interface Position {
  line: number;
  column: number;
}

export function locate(
  doc: Document,
  lines: LineCounter,
  path: Path,
  at: 'key' | 'value' = 'value',
): Position {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  let complete = true;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) {
        complete = false;
        break;
      }
      keyNode = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg];
      keyNode = node as Node;
    } else {
      complete = false;
      break;
    }
  }
  const valueNode = node as Node | null | undefined;
  let target: Node | undefined;
  if (!complete || at === 'key') target = keyNode ?? valueNode ?? undefined;
  else if (valueNode && !isCollection(valueNode) && !isAlias(valueNode)) target = valueNode;
  else target = keyNode ?? valueNode ?? undefined;
  const offset = target?.range?.[0] ?? 0;
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}
