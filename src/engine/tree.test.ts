import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeTree, emptyTreeBytes, encodeTree, sortNodes } from './tree.js';
import { GoMode, type TreeNode } from './node.js';
import { formatGoTime, localOffsetMinutes } from './gotime.js';
import { isHoldfastError } from '../errors.js';
import { restic, resticBuffer } from '../testing/restic.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';
import { TEST_TIME, testId, testNode } from '../testing/tree-nodes.js';

const integrity = (e: unknown) => isHoldfastError(e, 'INTEGRITY');
const T = TEST_TIME;
const ID = testId;
const node = testNode;

const text = (nodes: TreeNode[]) => encodeTree(nodes).toString('utf8');

test('mode numbers are Go os.FileMode bits (spec examples)', () => {
  assert.equal((GoMode.dir | 0o755) >>> 0, 2147484141);
  assert.equal(GoMode.symlink | 0o777, 134218239);
  assert.equal(GoMode.setuid | 0o755, 8389101);
  assert.equal((GoMode.dir | GoMode.sticky | 0o777) >>> 0, 2148532735);
  assert.equal(GoMode.device | GoMode.charDevice, (1 << 26) | (1 << 21));
  const dir = node('d', { type: 'dir', mode: (GoMode.dir | 0o755) >>> 0, content: null, subtree: ID('a') });
  assert.match(text([dir]), /"mode":2147484141,/);
});

test('a file node is written in restic 0.14 field order (spec example)', () => {
  const n = node('big.bin', {
    mode: 420,
    mtime: '2026-11-22T17:27:32.010687373Z',
    atime: '2026-11-22T17:27:32.010687373Z',
    ctime: '2026-11-22T17:27:32.010687373Z',
    user: 'root',
    group: 'root',
    inode: 2220115n,
    deviceId: 65024n,
    size: 4500000n,
    links: 1n,
    content: [ID('1'), ID('2')],
  });
  const t = '2026-11-22T17:27:32.010687373Z';
  assert.equal(
    text([n]),
    `{"nodes":[{"name":"big.bin","type":"file","mode":420,"mtime":"${t}","atime":"${t}","ctime":"${t}",` +
      `"uid":0,"gid":0,"user":"root","group":"root","inode":2220115,"device_id":65024,"size":4500000,"links":1,` +
      `"content":["${ID('1')}","${ID('2')}"]}]}\n`,
  );
});

test('an empty directory is {"nodes":[]} and a newline', () => {
  assert.equal(emptyTreeBytes().toString(), '{"nodes":[]}\n');
  assert.deepEqual(encodeTree([]), emptyTreeBytes());
});

test('zero values are omitted except uid, gid, times and content; content is [] for an empty file, null otherwise', () => {
  assert.equal(
    text([node('e', { mode: 0, uid: 0, gid: 0, size: 0n, inode: 0n, user: '' })]),
    `{"nodes":[{"name":"e","type":"file","mtime":"${T}","atime":"${T}","ctime":"${T}","uid":0,"gid":0,"content":[]}]}\n`,
  );
  const fifo = node('f', {
    type: 'fifo',
    mode: GoMode.namedPipe | 0o600,
    content: null,
    uid: 1000,
    gid: 1000,
  });
  assert.match(text([fifo]), /"uid":1000,"gid":1000,"content":null\}/);
  const dev = node('c', {
    type: 'chardev',
    mode: GoMode.device | GoMode.charDevice | 0o666,
    content: null,
    device: 259n,
  });
  assert.match(text([dev]), /"device":259,"content":null\}/);
});

test('dir nodes carry content null then subtree; error comes last', () => {
  const d = node('d', {
    type: 'dir',
    mode: (GoMode.dir | 0o700) >>> 0,
    content: null,
    subtree: ID('b'),
    error: 'oops <x>',
  });
  assert.match(
    text([d]),
    new RegExp(`"content":null,"subtree":"${ID('b')}","error":"oops \\\\u003cx\\\\u003e"\\}`),
  );
});

test('nodes are sorted bytewise by raw name, not by UTF-16 order', () => {
  const names = ['b', 'a', '\u{1f600}', '\ue000', 'B', 'a b'];
  const sorted = decodeTree(encodeTree(names.map((n) => node(n)))).map((n) => n.name.toString());
  assert.deepEqual(sorted, ['B', 'a', 'a b', 'b', '\ue000', '\u{1f600}']);
  const input = names.map((n) => node(n));
  encodeTree(input);
  assert.equal(input[0].name.toString(), 'b', 'encodeTree does not reorder its input');
  assert.equal(sortNodes(input)[0].name.toString(), 'B');
});

test('two entries with the same name are refused', () => {
  assert.throws(() => encodeTree([node('x'), node('y'), node('x')]), integrity);
});

test('names are Go-quoted then JSON-encoded (spec example)', () => {
  const n = node(String.raw`we"ird<&>\\name.txt`);
  assert.ok(
    text([n]).startsWith(String.raw`{"nodes":[{"name":"we\\\"ird\u003c\u0026\u003e\\\\\\\\name.txt",`),
  );
  assert.deepEqual(decodeTree(encodeTree([n]))[0].name, n.name);
});

test('link targets are only JSON-escaped; a non-UTF-8 target adds linktarget_raw, which reading prefers', () => {
  const ok = node('l1', {
    type: 'symlink',
    mode: GoMode.symlink | 0o777,
    content: null,
    linktarget: Buffer.from('\b\f<x'),
  });
  assert.match(text([ok]), /"linktarget":"\\u0008\\u000c\\u003cx","content":null/);
  assert.doesNotMatch(text([ok]), /linktarget_raw/);
  const target = Buffer.from([0x74, 0xff, 0xfe, 0x2f, 0x61]);
  const bad = node('l2', {
    type: 'symlink',
    mode: GoMode.symlink | 0o777,
    content: null,
    linktarget: target,
  });
  assert.match(text([bad]), /"linktarget":"t\\ufffd\\ufffd\/a","linktarget_raw":"dP\/\+L2E=","content":null/);
  assert.deepEqual(decodeTree(encodeTree([bad]))[0].linktarget, target);
});

test('a target stored lossily by restic 0.14 (escaped \\ufffd) re-encodes with the same escapes', () => {
  const stored = `{"nodes":[{"name":"l","type":"symlink","mode":134218239,"mtime":"${T}","atime":"${T}","ctime":"${T}","uid":0,"gid":0,"linktarget":"a\\ufffdb","content":null}]}\n`;
  const [n] = decodeTree(Buffer.from(stored));
  assert.deepEqual(n.linktarget, Buffer.from('a\ufffdb'));
  assert.equal(n.linktargetLossy, true);
  assert.equal(encodeTree([n]).toString(), stored);
  const raw = stored.replace('\\ufffd', '\ufffd');
  const [m] = decodeTree(Buffer.from(raw));
  assert.equal(m.linktargetLossy, undefined, 'a raw U+FFFD is a real character of the target');
  assert.equal(encodeTree([m]).toString(), raw);
});

test('extended attributes are written as name and base64 value', () => {
  const n = node('x', {
    extendedAttributes: [
      { name: 'user.k<', value: Buffer.from([0, 0xff]) },
      { name: 'user.e', value: Buffer.alloc(0) },
    ],
  });
  assert.match(
    text([n]),
    /"extended_attributes":\[\{"name":"user.k\\u003c","value":"AP8="\},\{"name":"user.e","value":""\}\],"content":\[\]/,
  );
  assert.deepEqual(decodeTree(encodeTree([n]))[0].extendedAttributes, n.extendedAttributes);
});

test('64-bit counters survive a round trip beyond 2^53', () => {
  const n = node('big', {
    inode: 18446744073709551615n,
    deviceId: 9007199254740993n,
    size: 1n << 62n,
    links: 2n,
    uid: 4294967294,
    gid: 4294967294,
  });
  assert.match(
    text([n]),
    /"uid":4294967294,"gid":4294967294,"inode":18446744073709551615,"device_id":9007199254740993,"size":4611686018427387904,"links":2,/,
  );
  assert.deepEqual(decodeTree(encodeTree([n])), [n]);
});

test('decoding is tolerant like Go: case-insensitive names, unknown fields ignored, null nodes', () => {
  assert.deepEqual(decodeTree(Buffer.from('{"nodes":null}')), []);
  assert.deepEqual(decodeTree(Buffer.from('{"other":1}')), []);
  const [n] = decodeTree(
    Buffer.from(
      `{"Nodes":[{"NAME":"a\\\\x01","Type":"file","MTime":"${T}","extra":{"x":[1]},"generic_attributes":{},"Content":["${ID('A')}"],"inode":null}]}`,
    ),
  );
  assert.deepEqual(n.name, Buffer.from([0x61, 0x01]));
  assert.equal(n.type, 'file');
  assert.equal(n.mtime, T);
  assert.equal(n.atime, '0001-01-01T00:00:00Z');
  assert.deepEqual(n.content, [ID('a')]);
  assert.equal(n.inode, undefined);
});

test('decoding rejects values of the wrong type and undecodable names', () => {
  const bad = [
    '[]',
    '{"nodes":{}}',
    '{"nodes":[null]}',
    '{"nodes":[{"name":1}]}',
    '{"nodes":[{"name":"a\\"b"}]}',
    '{"nodes":[{"name":"a\\\\q"}]}',
    '{"nodes":[{"name":"a","uid":-1}]}',
    '{"nodes":[{"name":"a","mode":1.5}]}',
    '{"nodes":[{"name":"a","size":18446744073709551616}]}',
    '{"nodes":[{"name":"a","content":["abc"]}]}',
    '{"nodes":[{"name":"a","mtime":"yesterday"}]}',
    '{"nodes":[{"name":"a","linktarget_raw":"!!"}]}',
  ];
  for (const b of bad) assert.throws(() => decodeTree(Buffer.from(b)), integrity, b);
});

test('a 100 000-entry tree encodes and decodes to the same bytes', () => {
  const nodes = Array.from({ length: 100_000 }, (_, i) =>
    node(`file-${i.toString().padStart(6, '0')}`, {
      inode: BigInt(i),
      size: 1234n,
      links: 1n,
      content: [ID('c')],
    }),
  );
  const bytes = encodeTree(nodes);
  const back = decodeTree(bytes);
  assert.equal(back.length, nodes.length);
  assert.ok(encodeTree(back).equals(bytes));
});

/** Raw names for the interop test: every quoting case the spec lists, and then some. */
const b = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
const NAMES: Buffer[] = [
  b(String.raw`we"ird<&>\\name.txt`),
  b('ctl', [0x01], 'name'),
  b('bad', [0xff], 'utf'),
  b('nb\u00a0sp'),
  b('emoji😀'),
  b('new\nline'),
  b('tab\tand\x7fdel'),
  b('bs\bff\fbell\x07vt\v'),
  b('zw\u200b'),
  b('bom\ufeff'),
  b('shy\u00ad'),
  b('pua\ue000'),
  b('melt\u{1fae0}'),
  b('ext\u{31350}'),
  b('unassigned\u0378'),
  b('ls\u2028ps\u2029'),
  b('combining\u0301'),
  b('ideo\u3000space'),
  b('cjk漢字'),
  b('arabic العربية'),
  b('trunc', [0xe2, 0x82]),
  b('surr', [0xed, 0xa0, 0x80]),
  b('overlong', [0xc0, 0xaf]),
  b('max', [0xf4, 0x8f, 0xbf, 0xbf]),
  b("quote'single"),
  b(' lead space'),
  b('B-upper'),
];

describe('trees written by the real restic 0.14', () => {
  let tmp = '';
  let repo = '';
  let data = '';
  let savedTz: string | undefined;
  const join = (dir: string, name: Buffer | string) =>
    Buffer.concat([Buffer.from(dir + '/'), Buffer.from(name)]);
  const opts = () => ({ repo, password: 'interop' });

  before(() => {
    savedTz = process.env.TZ;
    process.env.TZ = 'America/St_Johns'; // restic writes local times: exercise a -03:30 offset
    tmp = makeTempDir('tree-interop');
    repo = path.join(tmp, 'repo');
    data = path.join(tmp, 'data');
    fs.mkdirSync(data);
    for (const [i, name] of NAMES.entries()) fs.writeFileSync(join(data, name), `content ${i}\n`);
    fs.writeFileSync(join(data, 'empty-file'), '');
    fs.mkdirSync(join(data, 'empty-dir'));
    fs.mkdirSync(join(data, b('sub', [0xfe], 'dir')));
    fs.writeFileSync(join(data, b('sub', [0xfe], 'dir/inner', [0x80])), 'inner');
    fs.symlinkSync('target/ok', join(data, 'link-ok'));
    fs.symlinkSync(b('t', [0xff, 0xfe], '\b\f<'), join(data, 'link-bad'));
    fs.writeFileSync(join(data, 'setuid'), 'x', { mode: 0o755 });
    fs.chmodSync(join(data, 'setuid'), 0o4755);
    fs.mkdirSync(join(data, 'sticky'));
    fs.chmodSync(join(data, 'sticky'), 0o1777);
    fs.writeFileSync(join(data, 'hard1'), 'linked');
    fs.linkSync(join(data, 'hard1'), join(data, 'hard2'));
    execFileSync('mkfifo', [path.join(data, 'fifo')]);
    fs.writeFileSync(path.join(data, 'old'), 'old');
    execFileSync('touch', ['-d', '@-14182940.123456789', path.join(data, 'old')]);
    fs.writeFileSync(path.join(data, 'future'), 'future');
    execFileSync('touch', ['-d', '@10413792000.5', path.join(data, 'future')]);
    fs.writeFileSync(path.join(data, 'big-owner'), 'x');
    try {
      fs.chownSync(path.join(data, 'big-owner'), 4294967294, 4294967294);
      execFileSync('mknod', [path.join(data, 'null-dev'), 'c', '1', '3']);
    } catch {
      // not root: skip ownership and device cases
    }
    try {
      fs.writeFileSync(path.join(data, 'xattrs'), 'x');
      const py =
        'import os,sys; os.setxattr(sys.argv[1], "user.b", b"\\x00\\xff<"); os.setxattr(sys.argv[1], "user.a", b"")';
      execFileSync('python3', ['-c', py, path.join(data, 'xattrs')], { stdio: 'ignore' });
    } catch {
      // no python3 or no user xattrs on this file system: the file is still backed up
    }
    restic(['init'], opts());
    restic(['backup', data], opts());
  });

  after(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
    if (tmp) removeDir(tmp);
  });

  test('every stored tree decodes and re-encodes to the exact bytes restic wrote (same tree ID)', () => {
    const snapId = restic(['list', 'snapshots'], opts()).trim();
    const root = (JSON.parse(restic(['cat', 'snapshot', snapId], opts())) as { tree: string }).tree;
    const seen: string[] = [];
    const walk = (id: string): TreeNode[] => {
      const bytes = resticBuffer(['cat', 'blob', id], opts());
      assert.equal(createHash('sha256').update(bytes).digest('hex'), id);
      const nodes = decodeTree(bytes);
      const again = encodeTree(nodes);
      assert.equal(again.toString('utf8'), bytes.toString('utf8'));
      assert.ok(again.equals(bytes), `tree ${id} differs at the byte level`);
      seen.push(id);
      for (const n of nodes) if (n.type === 'dir' && n.subtree) walk(n.subtree);
      return nodes;
    };
    walk(root);
    assert.ok(seen.length >= 5, `walked ${seen.length} trees`);

    // Find the data directory's own tree and check what the decoded nodes say.
    let nodes = decodeTree(resticBuffer(['cat', 'blob', root], opts()));
    for (const part of data.split('/').filter(Boolean)) {
      const dir = nodes.find((n) => n.name.toString() === part);
      assert.ok(dir?.subtree, `path component ${part}`);
      nodes = decodeTree(resticBuffer(['cat', 'blob', dir.subtree], opts()));
    }
    const byName = new Map(nodes.map((n) => [n.name.toString('hex'), n]));
    for (const name of NAMES)
      assert.ok(byName.has(name.toString('hex')), `raw name ${name.toString('hex')} decoded`);
    const get = (name: string) => byName.get(Buffer.from(name).toString('hex')) as TreeNode;
    assert.deepEqual(get('empty-file').content, []);
    assert.equal(get('empty-file').size, undefined);
    assert.equal(get('empty-dir').content, null);
    assert.deepEqual(get('link-ok').linktarget, Buffer.from('target/ok'));
    assert.deepEqual(
      get('link-bad').linktarget,
      Buffer.from('t\ufffd\ufffd\b\f<'),
      '0.14 stores the target lossily',
    );
    assert.equal(get('link-bad').linktargetLossy, true);
    assert.equal(get('link-ok').linktargetLossy, undefined);
    assert.equal(get('setuid').mode, GoMode.setuid | 0o755);
    assert.equal(get('sticky').mode, (GoMode.dir | GoMode.sticky | 0o777) >>> 0);
    assert.equal(get('hard1').links, 2n);
    assert.equal(get('fifo').mode, GoMode.namedPipe | 0o644);
    const oldNs = -14182940_123456789n;
    assert.equal(get('old').mtime, formatGoTime(oldNs, localOffsetMinutes(Number(oldNs / 1_000_000n))));
    assert.equal(get('future').mtime, '2299-12-31T20:30:00.5-03:30');
  });
});
