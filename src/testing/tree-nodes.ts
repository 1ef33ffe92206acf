/** Tree nodes for the tests of tree encoding and reading: a file with fixed times, changed by `extra`. */
import type { TreeNode } from '../engine/node.js';

/** A time with nanoseconds and an offset, as Go writes it. */
export const TEST_TIME = '2024-01-02T03:04:05.123456789+01:00';

/** A blob ID made of one repeated hex digit. */
export const testId = (c: string): string => c.repeat(64);

export function testNode(name: string | Buffer, extra: Partial<TreeNode> = {}): TreeNode {
  return {
    name: typeof name === 'string' ? Buffer.from(name) : name,
    type: 'file',
    mode: 0o644,
    mtime: TEST_TIME,
    atime: TEST_TIME,
    ctime: TEST_TIME,
    uid: 0,
    gid: 0,
    content: [],
    ...extra,
  };
}
