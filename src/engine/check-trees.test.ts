/**
 * check's tree walk (check-trees.ts): the native-JSON reading of plain trees gives the nodes
 * decodeTree gives, and leaves every other tree to decodeTree; the walk with trees loaded
 * ahead visits the same trees in the same order as visitTrees, with the same errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTestTree } from '../testing/fixtures.js';
import { makeRepoWithHistory, openTestRepo } from '../testing/repo.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { backupPaths } from './archiver.js';
import { type CheckedNode, plainTreeNodes, visitTreesAhead } from './check-trees.js';
import type { TreeNode } from './node.js';
import { visitTrees } from './reachability.js';
import { decodeSnapshot } from './snapshot.js';
import { decodeTree, encodeTree } from './tree.js';
import { testId, testNode } from '../testing/tree-nodes.js';

const ID = testId;

const node = (name: string | Buffer, extra: Partial<TreeNode> = {}): TreeNode =>
  testNode(name, { uid: 1000, gid: 1000, content: [ID('a'), ID('b')], ...extra });

const checked = (nodes: readonly CheckedNode[]) =>
  nodes.map((n) => ({ name: n.name, type: n.type, subtree: n.subtree, content: n.content }));

describe('plainTreeNodes', () => {
  test('gives what decodeTree gives for trees in the plain form', () => {
    const trees: TreeNode[][] = [
      [],
      [node('a.txt'), node('b', { type: 'dir', content: null, subtree: ID('c'), mode: 0x800001ed })],
      [node(Buffer.from([0x66, 0xff, 0x6f])), node('lnk', { type: 'symlink', linktarget: Buffer.from('x') })],
      [node('big', { size: 123456789n, inode: 42n, links: 1n, user: 'u', group: 'g' })],
    ];
    for (const nodes of trees) {
      const bytes = encodeTree(nodes);
      const plain = plainTreeNodes(bytes);
      assert.ok(plain, bytes.toString());
      assert.deepEqual(checked(plain), checked(decodeTree(bytes)));
    }
    assert.deepEqual(plainTreeNodes(Buffer.from('{"nodes":null}')), []);
    const upper = Buffer.from(`{"nodes":[{"name":"x","type":"file","content":["${'A'.repeat(64)}"]}]}`);
    assert.deepEqual(checked(plainTreeNodes(upper) ?? []), checked(decodeTree(upper)));
  });

  test('leaves any other tree to decodeTree', () => {
    const other = [
      '{"nodes":[{"Name":"x"}]}', // field name in another case
      '{"nodes":[{"name":"x","unknown":1}]}',
      '{"nodes":[{"name":"x","size":18446744073709551615}]}', // beyond a double
      '{"nodes":[{"name":"x","extended_attributes":[]}]}',
      '{"nodes":[{"name":"\\ufffd"}]}',
      '{"nodes":[{"name":"x\\ud800"}]}',
      '{"nodes":[],"extra":1}',
      '{"nodes":{}}',
      '[]',
      'not json',
      '{"nodes":[{"name":"x","mtime":"2024-13-45T00:00:00Z"}]}', // a time decodeTree rejects
      '{"nodes":[{"name":"x","uid":-1}]}',
      '{"nodes":[{"name":"x","content":["abc"]}]}',
      '{"nodes":[{"name":"\\"bad quoting"}]}',
    ];
    for (const text of other) assert.equal(plainTreeNodes(Buffer.from(text)), undefined, text);
    assert.equal(plainTreeNodes(Buffer.from([0x7b, 0xff, 0x7d])), undefined, 'invalid UTF-8');
  });
});

describe('visitTreesAhead', () => {
  let tmp: string;
  let repoDir: string;
  let roots: string[];

  before(async () => {
    tmp = makeTempDir('check-trees');
    repoDir = path.join(tmp, 'repo');
    await makeRepoWithHistory(repoDir, path.join(tmp, 'src'), 'pw', 2);
    makeTestTree(path.join(tmp, 'more'));
    const repo = await openTestRepo(repoDir, 'pw');
    await repo.loadIndex();
    await backupPaths(repo, [path.join(tmp, 'more')], { hostname: 'h' });
    const fresh = await openTestRepo(repoDir, 'pw');
    await fresh.loadIndex();
    roots = [];
    for (const id of await fresh.listIds('snapshot'))
      roots.push(decodeSnapshot(await fresh.loadFile('snapshot', id)).tree);
  });
  after(() => removeDir(tmp));

  async function walks(damage?: (repo: Awaited<ReturnType<typeof openTestRepo>>) => void) {
    const repo = await openTestRepo(repoDir, 'pw');
    await repo.loadIndex();
    damage?.(repo);
    const reference: string[] = [];
    await visitTrees(repo, roots, (id, nodes, err) =>
      reference.push(nodes ? `${id} ${JSON.stringify(checked(nodes))}` : `${id} error ${String(err)}`),
    );
    const results: string[][] = [];
    for (const ahead of [1, 3, 64]) {
      const got: string[] = [];
      await visitTreesAhead(
        repo,
        roots,
        (id, nodes, err) =>
          got.push(nodes ? `${id} ${JSON.stringify(checked(nodes))}` : `${id} error ${String(err)}`),
        ahead,
      );
      results.push(got);
    }
    return { reference, results };
  }

  test('visits the trees visitTrees visits, in the same order', async () => {
    const { reference, results } = await walks();
    assert.ok(reference.length > 5, 'several trees');
    for (const got of results) assert.deepEqual(got, reference);
  });

  test('a tree missing from the index gets the same error', async () => {
    const { reference, results } = await walks((repo) => {
      const subtree = [...repo.index.tree.keys()].find((t) => !roots.includes(t));
      repo.index.tree.delete(subtree ?? '');
    });
    assert.equal(reference.filter((v) => v.includes(' error ')).length, 1, reference.join('\n'));
    for (const got of results) assert.deepEqual(got, reference);
  });

  test('trees in a damaged pack get the same errors', async () => {
    const { reference, results } = await walks((repo) => {
      const subtree = [...repo.index.tree.keys()].find((t) => !roots.includes(t)) ?? '';
      const pack = repo.index.tree.get(subtree)?.packId ?? '';
      const file = path.join(repoDir, 'data', pack.slice(0, 2), pack);
      fs.chmodSync(file, 0o600);
      const bytes = fs.readFileSync(file);
      for (let i = 0; i < bytes.length - 100; i += 50) bytes[i] ^= 1;
      fs.writeFileSync(file, bytes);
    });
    assert.ok(
      reference.some((v) => v.includes(' error ')),
      reference.join('\n'),
    );
    for (const got of results) assert.deepEqual(got, reference);
  });
});
