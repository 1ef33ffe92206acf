import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goQuote, goUnquote, isGoPrint } from './goquote.js';
import { goJsonString } from './gojson.js';
import { isHoldfastError } from '../errors.js';

const integrity = (e: unknown) => isHoldfastError(e, 'INTEGRITY');
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
/** The JSON text restic stores in a tree's "name" field for a raw name. */
const storedName = (name: Buffer) => goJsonString(goQuote(name));

test('spec example: we"ird<&>\\\\name.txt is stored with doubled backslashes and HTML escapes', () => {
  assert.equal(
    storedName(bytes(String.raw`we"ird<&>\\name.txt`)),
    String.raw`"we\\\"ird\u003c\u0026\u003e\\\\\\\\name.txt"`,
  );
});

test('spec examples: byte 0x01, byte 0xff, NBSP and an emoji', () => {
  assert.equal(storedName(bytes('ctl', [0x01], 'name')), String.raw`"ctl\\x01name"`);
  assert.equal(storedName(bytes('bad', [0xff], 'utf')), String.raw`"bad\\xffutf"`);
  assert.equal(storedName(bytes('nb\u00a0sp')), String.raw`"nb\\u00a0sp"`);
  assert.equal(storedName(bytes('emoji😀')), '"emoji😀"');
});

test('controls use short escapes where Go has them, else \\xHH; DEL is \\x7f', () => {
  assert.equal(goQuote(bytes([7, 8, 12, 10, 13, 9, 11])), String.raw`\a\b\f\n\r\t\v`);
  assert.equal(goQuote(bytes([0, 0x1b, 0x1f, 0x7f])), String.raw`\x00\x1b\x1f\x7f`);
});

test('each byte of invalid UTF-8 is \\xHH (truncated, surrogate, overlong sequences)', () => {
  assert.equal(goQuote(bytes([0xe2, 0x82])), String.raw`\xe2\x82`);
  assert.equal(goQuote(bytes([0xed, 0xa0, 0x80])), String.raw`\xed\xa0\x80`);
  assert.equal(goQuote(bytes([0xc0, 0xaf, 0x41])), String.raw`\xc0\xafA`);
});

test('runes Go 1.19 does not consider printable become \\uHHHH or \\UHHHHHHHH', () => {
  const cases: [string, string][] = [
    ['\u200b', String.raw`\u200b`], // format character
    ['\ufeff', String.raw`\ufeff`],
    ['\u00ad', String.raw`\u00ad`], // soft hyphen (Cf)
    ['\ue000', String.raw`\ue000`], // private use
    ['\u0378', String.raw`\u0378`], // unassigned
    ['\u2028\u2029', String.raw`\u2028\u2029`],
    ['\u3000', String.raw`\u3000`], // ideographic space
    ['\u{10ffff}', String.raw`\U0010ffff`],
    ['\u{1fae0}', String.raw`\U0001fae0`], // Unicode 14: unassigned in Go 1.19's tables (checked on restic 0.14)
    ['\u{31350}', String.raw`\U00031350`], // Unicode 15 CJK extension H
  ];
  for (const [s, want] of cases) assert.equal(goQuote(bytes(s)), want, s);
});

test('printable runes, including marks, symbols and U+FFFD itself, stay raw', () => {
  for (const s of ['é', 'e\u0301', '漢字', 'العربية', '€', '\ufffd', '😀', '\u{1fad6}', 'ſ'])
    assert.equal(goQuote(bytes(s)), s);
});

test("the printable table agrees with this runtime's Unicode categories wherever Unicode 13 assigned the rune", () => {
  const re = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
  for (let r = 0; r <= 0x10ffff; r++) {
    if (r >= 0xd800 && r <= 0xdfff) continue;
    if (isGoPrint(r) && r !== 0x20) assert.ok(re.test(String.fromCodePoint(r)), `U+${r.toString(16)}`);
  }
  assert.ok(isGoPrint(0x20) && !isGoPrint(0xa0) && !isGoPrint(0x7f));
});

test('unquote accepts \\xHH, octal, \\u, \\U and the short escapes', () => {
  assert.deepEqual(
    goUnquote(String.raw`\x41\101\u00e9\U0001f600\a\b\f\n\r\t\v\\\"`),
    bytes('AAé😀\x07\b\f\n\r\t\v\\"'),
  );
  assert.deepEqual(goUnquote(String.raw`\377\xff\x00`), bytes([0xff, 0xff, 0]));
  assert.deepEqual(goUnquote('plain é'), bytes('plain é'));
});

test('unquote rejects a raw quote or newline and invalid escapes', () => {
  for (const bad of [
    'a"b',
    'a\nb',
    "\\'",
    String.raw`\400`,
    String.raw`\18`,
    String.raw`\ud800`,
    String.raw`\U00110000`,
    '\\',
    String.raw`\q`,
    String.raw`\x4`,
  ]) {
    assert.throws(() => goUnquote(bad), integrity, JSON.stringify(bad));
  }
});

test('quote then unquote gives back random byte strings exactly', () => {
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const pool = [0x00, 0x07, 0x0a, 0x22, 0x5c, 0x7f, 0x80, 0xbf, 0xc2, 0xe2, 0xed, 0xf0, 0xf4, 0xff];
  for (let n = 0; n < 3000; n++) {
    const len = rand() % 24;
    const b = Buffer.alloc(len);
    for (let i = 0; i < len; i++) b[i] = rand() % 3 === 0 ? pool[rand() % pool.length] : rand() % 256;
    assert.deepEqual(goUnquote(goQuote(b)), b, b.toString('hex'));
  }
  for (let n = 0; n < 3000; n++) {
    let s = '';
    for (let i = rand() % 8; i > 0; i--) {
      const cp = rand() % 0x110000;
      s += String.fromCodePoint(cp >= 0xd800 && cp <= 0xdfff ? 0x41 : cp);
    }
    const b = Buffer.from(s, 'utf8');
    assert.deepEqual(goUnquote(goQuote(b)), b, s);
  }
});
