import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeSnapshot, encodeSnapshot, type Snapshot } from './snapshot.js';
import { isHoldfastError } from '../errors.js';
import { restic } from '../testing/restic.js';
import { makeTempDir, removeDir } from '../testing/tmp.js';

const integrity = (e: unknown) => isHoldfastError(e, 'INTEGRITY');
const ID = (c: string) => c.repeat(64);
const T = '2026-11-22T17:27:32.010687373Z';

test('a snapshot restic 0.14 wrote as root re-encodes to the same bytes (spec example)', () => {
  const stored = `{"time":"${T}","tree":"${ID('9')}","paths":["/tmp/rdata"],"hostname":"vm","username":"root"}`;
  const s = decodeSnapshot(Buffer.from(stored));
  assert.deepEqual(s, { time: T, tree: ID('9'), paths: ['/tmp/rdata'], hostname: 'vm', username: 'root' });
  assert.equal(encodeSnapshot(s).toString(), stored);
});

test('fields come in Go order; uid and gid are omitted when 0, empty lists are omitted, paths never', () => {
  const s: Snapshot = {
    summary: { files_new: 3, backup_end: T, backup_start: T },
    programVersion: 'holdfast 0.1.0',
    original: ID('c'),
    tags: ['b', 'a<'],
    excludes: [],
    gid: 0,
    uid: 1000,
    username: 'u',
    hostname: 'h',
    paths: [],
    tree: ID('b'),
    parent: ID('a'),
    time: T,
  };
  assert.equal(
    encodeSnapshot(s).toString(),
    `{"time":"${T}","parent":"${ID('a')}","tree":"${ID('b')}","paths":[],"hostname":"h","username":"u","uid":1000,` +
      `"tags":["b","a\\u003c"],"original":"${ID('c')}","program_version":"holdfast 0.1.0",` +
      `"summary":{"backup_start":"${T}","backup_end":"${T}","files_new":3,"files_changed":0,"files_unmodified":0,` +
      `"dirs_new":0,"dirs_changed":0,"dirs_unmodified":0,"data_blobs":0,"tree_blobs":0,"data_added":0,` +
      `"data_added_packed":0,"total_files_processed":0,"total_bytes_processed":0}}`,
  );
});

test('there is no trailing newline', () => {
  const bytes = encodeSnapshot({ time: T, tree: ID('1'), paths: ['/'] });
  assert.equal(bytes[bytes.length - 1], 0x7d);
});

test('a restic 0.17 summary survives decode and re-encode byte for byte, big counters included', () => {
  const stored =
    `{"time":"2024-05-01T10:00:00.5+02:00","tree":"${ID('1')}","paths":["/a","/b"],"hostname":"h","username":"u",` +
    `"uid":1000,"gid":1000,"excludes":["*.tmp"],"tags":["t"],"program_version":"restic 0.17.0","summary":` +
    `{"backup_start":"2024-05-01T10:00:00.5+02:00","backup_end":"2024-05-01T10:00:01+02:00","files_new":1,` +
    `"files_changed":2,"files_unmodified":3,"dirs_new":4,"dirs_changed":5,"dirs_unmodified":6,"data_blobs":7,` +
    `"tree_blobs":8,"data_added":9007199254740993,"data_added_packed":10,"total_files_processed":11,` +
    `"total_bytes_processed":18446744073709551615}}`;
  const s = decodeSnapshot(Buffer.from(stored));
  assert.equal(s.summary?.data_added, 9007199254740993n);
  assert.equal(encodeSnapshot(s).toString(), stored);
});

test('decoding follows Go: case-insensitive names, unknown fields ignored, IDs lowercased, times normalised', () => {
  const s = decodeSnapshot(
    Buffer.from(
      `{"Time":"2024-01-01T00:00:00.100+00:00","TREE":"${ID('A')}","Paths":["/x"],"parent":null,"future":{"a":1},"tags":["x",null]}`,
    ),
  );
  assert.deepEqual(s, { time: '2024-01-01T00:00:00.1Z', tree: ID('a'), paths: ['/x'], tags: ['x', ''] });
});

test('a snapshot without a tree, or with values of the wrong type, is an integrity error', () => {
  for (const bad of [
    `{"time":"${T}","paths":[]}`,
    `{"time":"${T}","tree":null,"paths":[]}`,
    `{"time":"${T}","tree":"abc","paths":[]}`,
    `{"time":"${T}","tree":"${ID('1')}","paths":"/x"}`,
    `{"time":"${T}","tree":"${ID('1')}","paths":[],"uid":-1}`,
    `{"time":"yesterday","tree":"${ID('1')}","paths":[]}`,
    `{"time":"${T}","tree":"${ID('1')}","paths":[],"summary":{"files_new":"many"}}`,
    `[]`,
  ]) {
    assert.throws(() => decodeSnapshot(Buffer.from(bad)), integrity, bad);
  }
});

/** Go's json.Compact: drops the whitespace MarshalIndent added outside strings. */
function compact(json: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (inString) {
      out += c;
      if (c === '\\') out += json[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (!' \t\r\n'.includes(c)) out += c;
  }
  return out;
}

describe('snapshots written by the real restic 0.14', () => {
  let tmp = '';
  let repo = '';
  let savedTz: string | undefined;
  const opts = () => ({ repo, password: 'interop' });

  before(() => {
    savedTz = process.env.TZ;
    process.env.TZ = 'Asia/Kathmandu'; // restic writes local times: exercise a +05:45 offset
    tmp = makeTempDir('snapshot-interop');
    repo = path.join(tmp, 'repo');
    const data = path.join(tmp, 'da<t>a & more');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'f'), 'x');
    restic(['init'], opts());
    const backup = [
      'backup',
      '--host',
      'h<&>st',
      '--tag',
      'one,two',
      '--tag',
      'thr"ee',
      '--exclude',
      '*.tmp',
      data,
    ];
    restic(backup, opts());
    fs.writeFileSync(path.join(data, 'g'), 'y');
    restic(backup, opts());
    const first = restic(['list', 'snapshots'], opts()).trim().split('\n')[0];
    restic(['tag', '--add', 'added', first], opts());
  });

  after(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
    if (tmp) removeDir(tmp);
  });

  test('every snapshot decodes and re-encodes to the JSON restic stored, parent and original included', () => {
    const ids = restic(['list', 'snapshots'], opts()).trim().split('\n');
    assert.equal(ids.length, 2);
    let sawParent = false;
    let sawOriginal = false;
    for (const id of ids) {
      const stored = compact(restic(['cat', 'snapshot', id], opts()).trim());
      const s = decodeSnapshot(Buffer.from(stored));
      assert.equal(encodeSnapshot(s).toString(), stored);
      assert.match(s.time, /\+05:45$/);
      assert.equal(s.hostname, 'h<&>st');
      assert.deepEqual(s.excludes, ['*.tmp']);
      sawParent ||= s.parent !== undefined;
      sawOriginal ||= s.original !== undefined;
    }
    assert.ok(sawParent && sawOriginal);
  });
});
