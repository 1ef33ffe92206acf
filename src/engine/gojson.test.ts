import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeRune,
  goJsonBase64,
  goJsonBytesString,
  goJsonString,
  matchField,
  parseGoBase64,
  parseJsonLossless,
} from './gojson.js';
import { isHoldfastError } from '../errors.js';

const integrity = (e: unknown) => isHoldfastError(e, 'INTEGRITY');

test('strings are escaped HTML-safe like Go: < > & become \\u003c \\u003e \\u0026', () => {
  assert.equal(goJsonString('a<b>&c'), String.raw`"a\u003cb\u003e\u0026c"`);
});

test('quote and backslash get short escapes, as do \\n \\r \\t', () => {
  assert.equal(goJsonString('"\\\n\r\t'), String.raw`"\"\\\n\r\t"`);
});

test('other control characters are \\u00xx in lowercase hex, \\b and \\f included (go1.19)', () => {
  assert.equal(goJsonString('\x00\x01\x08\x0c\x1b\x1f'), String.raw`"\u0000\u0001\u0008\u000c\u001b\u001f"`);
});

test('U+2028 and U+2029 are escaped; DEL and other non-ASCII are written raw', () => {
  assert.equal(goJsonString('\u2028\u2029'), String.raw`"\u2028\u2029"`);
  assert.equal(goJsonString('\x7f\u00a0é漢😀'), '"\x7f\u00a0é漢😀"');
});

test('a lone surrogate in a JS string is written as \\ufffd', () => {
  assert.equal(goJsonString('a\ud800b\udc00'), String.raw`"a\ufffdb\ufffd"`);
});

test('escaped strings decode back to the same string', () => {
  let s = '';
  for (let c = 0; c < 0x3000; c += 7) s += String.fromCharCode(c >= 0xd800 && c <= 0xdfff ? 0x41 : c);
  assert.equal(JSON.parse(goJsonString(s)), s);
});

test('byte strings: each byte of invalid UTF-8 becomes one \\ufffd, like Go', () => {
  const cases: [number[], string][] = [
    [[0x61, 0xff, 0x62], String.raw`"a\ufffdb"`],
    [[0xe2, 0x82], String.raw`"\ufffd\ufffd"`],
    [[0xed, 0xa0, 0x80], String.raw`"\ufffd\ufffd\ufffd"`],
    [[0xc0, 0xaf], String.raw`"\ufffd\ufffd"`],
    [[0xf0, 0x9f, 0x98, 0x3c], String.raw`"\ufffd\ufffd\ufffd\u003c"`],
    [[0xc3, 0xa9, 0x08, 0x0c, 0x3c], String.raw`"é\u0008\u000c\u003c"`],
  ];
  for (const [bytes, want] of cases) assert.equal(goJsonBytesString(Buffer.from(bytes)), want);
});

test('Go UTF-8 decoding rejects surrogates, overlongs and code points above U+10FFFF', () => {
  assert.equal(decodeRune(Buffer.from([0xed, 0x9f, 0xbf]), 0), 0xd7ff);
  assert.equal(decodeRune(Buffer.from([0xed, 0xa0, 0x80]), 0), -1);
  assert.equal(decodeRune(Buffer.from([0xe0, 0x80, 0x80]), 0), -1);
  assert.equal(decodeRune(Buffer.from([0xf4, 0x8f, 0xbf, 0xbf]), 0), 0x10ffff);
  assert.equal(decodeRune(Buffer.from([0xf4, 0x90, 0x80, 0x80]), 0), -1);
  assert.equal(decodeRune(Buffer.from([0xf0, 0x9f, 0x98, 0x80]), 0), 0x1f600);
});

test('byte arrays are standard base64 with padding; decoding is strict', () => {
  assert.equal(goJsonBase64(Buffer.from([0xfb, 0xff])), '"+/8="');
  assert.deepEqual(parseGoBase64('+/8=', 'x'), Buffer.from([0xfb, 0xff]));
  assert.deepEqual(parseGoBase64('', 'x'), Buffer.alloc(0));
  for (const bad of ['+/8', '-_8=', 'a===', 'ab!=']) assert.throws(() => parseGoBase64(bad, 'x'), integrity);
});

test('integers beyond 2^53 parse losslessly as bigint, smaller ones as numbers', () => {
  const doc = parseJsonLossless(
    '{"a":9223372036854775807,"b":18446744073709551615,"c":9007199254740991,"d":9007199254740993,' +
      '"e":-9223372036854775808,"f":0,"g":-5,"h":123456789012345678}',
  );
  assert.deepEqual(doc, {
    a: 9223372036854775807n,
    b: 18446744073709551615n,
    c: 9007199254740991,
    d: 9007199254740993n,
    e: -9223372036854775808n,
    f: 0,
    g: -5,
    h: 123456789012345678n,
  });
});

test('floats, literals, nesting and whitespace parse like JSON.parse', () => {
  const text =
    ' { "x" : [ 1.5 , -2e3 , 0.25E-1 , true , false , null , { } , [ ] , "" ] , "y" : { "z" : "w" } } \n';
  assert.deepEqual(parseJsonLossless(text), JSON.parse(text));
});

test('string escapes decode, surrogate pairs combine, lone surrogate escapes become U+FFFD', () => {
  assert.equal(parseJsonLossless(String.raw`"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"`), 'a"\\/\b\f\n\r\té😀');
  assert.equal(parseJsonLossless(String.raw`"x\ud800y\udc00"`), 'x\ufffdy\ufffd');
});

test('the parser takes UTF-8 bytes as well as text', () => {
  assert.deepEqual(parseJsonLossless(Buffer.from('{"n":"漢"}')), { n: '漢' });
});

test('malformed JSON is rejected as an integrity error', () => {
  for (const bad of [
    '',
    '{',
    '{"a":1,}',
    '[1,]',
    '"abc',
    '"a\nb"',
    '01',
    '1 2',
    '{"a" 1}',
    'nul',
    '"\\x"',
    '-',
    '1.',
    '1e',
  ]) {
    assert.throws(() => parseJsonLossless(bad), integrity, bad);
  }
});

test('a "__proto__" key is an ordinary property, not a prototype change', () => {
  const doc = parseJsonLossless('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(doc), Object.prototype);
  assert.deepEqual(Object.keys(doc), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('a several-MB document parses quickly', () => {
  const node =
    '{"name":"file-%","type":"file","mode":420,"mtime":"2024-01-02T03:04:05.123456789+01:00","uid":0,"inode":18446744073709551615,"content":["' +
    'ab'.repeat(32) +
    '"]}';
  const text =
    '{"nodes":[' + Array.from({ length: 20000 }, (_, i) => node.replace('%', String(i))).join(',') + ']}';
  const t0 = Date.now();
  const doc = parseJsonLossless(text) as { nodes: { inode: bigint }[] };
  assert.equal(doc.nodes.length, 20000);
  assert.equal(doc.nodes[5].inode, 18446744073709551615n);
  assert.ok(Date.now() - t0 < 2000, `parsing ${text.length} bytes took ${Date.now() - t0} ms`);
});

test('field names match exactly first, then case-insensitively like Go', () => {
  const fields = new Set(['device_id', 'size']);
  assert.equal(matchField('device_id', fields), 'device_id');
  assert.equal(matchField('DEVICE_ID', fields), 'device_id');
  assert.equal(matchField('\u017fize', fields), 'size');
  assert.equal(matchField('deviceid', fields), undefined);
});
