import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ParentEntry, parentEntries, sameGoTime } from './parent-entries.js';
import { GoMode, type TreeNode } from './node.js';
import { decodeTree, encodeTree } from './tree.js';
import { TEST_TIME, testId, testNode } from '../testing/tree-nodes.js';

const T = TEST_TIME;
const ID = testId;

const node = (name: string | Buffer, extra: Partial<TreeNode> = {}): TreeNode =>
  testNode(name, {
    uid: 1000,
    gid: 1000,
    user: 'u',
    group: 'g',
    inode: 42n,
    deviceId: 2049n,
    size: 3n,
    links: 1n,
    content: [ID('a')],
    ...extra,
  });

/** Only the fields of a parent entry (the fallback path returns whole tree nodes). */
function entry(n: ParentEntry): ParentEntry {
  const e: ParentEntry = { name: n.name, type: n.type, mtime: n.mtime, ctime: n.ctime, content: n.content };
  if (n.size !== undefined) e.size = n.size;
  if (n.inode !== undefined) e.inode = n.inode;
  if (n.subtree !== undefined) e.subtree = n.subtree;
  return e;
}

/** What decodeTree gives, seen as parent entries. */
function viaDecodeTree(bytes: Buffer): ParentEntry[] {
  return decodeTree(bytes).map(entry);
}

function assertSameAsDecodeTree(bytes: Buffer): void {
  const fast = parentEntries(bytes).map(entry);
  const slow = viaDecodeTree(bytes);
  assert.equal(fast.length, slow.length);
  fast.forEach((f, i) => {
    const s = slow[i];
    assert.ok(sameGoTime(f.mtime, s.mtime) && sameGoTime(f.ctime, s.ctime), 'times');
    assert.deepEqual({ ...f, mtime: s.mtime, ctime: s.ctime }, s);
  });
}

test('entries of trees holdfast writes equal decodeTree', () => {
  const nodes: TreeNode[] = [
    node('plain.txt'),
    node('empty', { size: 0n, content: [] }),
    node('dir', {
      type: 'dir',
      mode: (GoMode.dir | 0o755) >>> 0,
      size: undefined,
      links: undefined,
      content: null,
      subtree: ID('b'),
    }),
    node('link', { type: 'symlink', linktarget: Buffer.from('target'), content: null, size: undefined }),
    node('quote"and\\backslash\nnewline'),
    node(Buffer.from([0x66, 0xff, 0x6f])),
    node('big-inode', { inode: (1n << 60n) + 7n }),
    node('xattr', { extendedAttributes: [{ name: 'user.a', value: Buffer.from('v') }] }),
    node('dev', { type: 'chardev', device: 259n, content: null, size: undefined }),
    node('unicode-é-☃'),
    node('zero-times', { mtime: '', ctime: '', atime: '' }),
  ];
  assertSameAsDecodeTree(encodeTree(nodes));
  for (const n of nodes) assertSameAsDecodeTree(encodeTree([n]));
});

test('hand-written trees: odd forms agree with decodeTree or are rejected alike', () => {
  const cases = [
    '{"nodes":null}\n',
    '{"nodes":[]}\n',
    `{"nodes":[{"name":"a","type":"file","mtime":"2024-01-02T03:04:05.1200+01:00","ctime":"${T}","content":["${ID('A')}"],"size":null}]}`,
    `{"Nodes":[{"Name":"a","TYPE":"file","mtime":"${T}","ctime":"${T}","content":null}]}`,
    `{"nodes":[{"name":"a","type":"dir","subtree":"${ID('C')}","unknown":1}]}`,
    `{"nodes":[{"name":"a\\ufffd","type":"file"}]}`,
    `{"nodes":[{"name":"a","type":"file","inode":18446744073709551615}]}`,
    `{"nodes":[{"name":"a","type":"file","mode":"x"}]}`,
    `{"nodes":[{"name":"a","type":"file","content":["nothex"]}]}`,
    `{"nodes":[{"name":"toString","type":"file","toString":1,"__proto__":2}]}`,
    `{"nodes":[{"name":"\\"bad","type":"file"}]}`,
  ];
  for (const c of cases) {
    const bytes = Buffer.from(c);
    let slowError: unknown;
    try {
      viaDecodeTree(bytes);
    } catch (err) {
      slowError = err;
    }
    if (slowError) assert.throws(() => parentEntries(bytes), c);
    else assertSameAsDecodeTree(bytes);
  }
});

test('sameGoTime compares instants as Go writes them', () => {
  assert.ok(sameGoTime(T, T));
  assert.ok(sameGoTime('2024-01-02T03:04:05.120+01:00', '2024-01-02T03:04:05.12+01:00'));
  assert.ok(!sameGoTime('2024-01-02T03:04:05.13+01:00', '2024-01-02T03:04:05.12+01:00'));
  assert.ok(!sameGoTime('not a time', T));
});
