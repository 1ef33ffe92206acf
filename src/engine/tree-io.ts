/** Loading and saving tree blobs through a repository. */
import type { TreeNode } from './node.js';
import type { Repository } from './repository.js';
import { decodeTree, encodeTree } from './tree.js';

export async function loadTree(repo: Repository, id: string): Promise<TreeNode[]> {
  return decodeTree(await repo.loadBlob('tree', id));
}

export async function saveTree(repo: Repository, nodes: TreeNode[]): Promise<string> {
  return (await repo.saveBlob('tree', encodeTree(nodes))).id;
}
