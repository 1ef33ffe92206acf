/** Writes the contents of one file node of a snapshot to a stream, each blob verified first. */
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { fail } from '../errors.js';
import type { TreeNode } from './node.js';
import type { Repository } from './repository.js';

export async function dumpFile(repo: Repository, node: TreeNode, out: Writable): Promise<number> {
  if (node.type !== 'file')
    fail('INVALID_ARGUMENT', `${node.name.toString('utf8')} is a ${node.type}, not a file: use restore`);
  let written = 0;
  for (const id of node.content ?? []) {
    const blob = await repo.loadBlob('data', id);
    if (!out.write(blob)) await once(out, 'drain');
    written += blob.length;
  }
  return written;
}
