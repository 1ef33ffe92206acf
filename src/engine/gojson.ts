/**
 * JSON the way Go's encoding/json (go1.19, as in restic 0.14) writes and reads it.
 * Strings are escaped HTML-safe (< > & as \u003c \u003e \u0026), U+2028/U+2029 are escaped,
 * control characters other than \n \r \t become \u00xx (so 0x08 and 0x0c are \u0008 and \u000c),
 * and each byte of invalid UTF-8 becomes \ufffd. The parser is lossless for 64-bit integers:
 * integers outside the safe range come back as bigint.
 */
import { isUtf8 } from 'node:buffer';
import { fail } from '../errors.js';

const HEX = '0123456789abcdef';

/** Go's utf8.DecodeRune: the rune at b[i], or -1 for invalid UTF-8 (which Go consumes one byte of). */
export function decodeRune(b: Uint8Array, i: number): number {
  const c0 = b[i];
  if (c0 < 0x80) return c0;
  const n = b.length;
  if (c0 < 0xc2 || c0 > 0xf4) return -1;
  if (c0 < 0xe0) {
    if (i + 1 >= n) return -1;
    const c1 = b[i + 1];
    if (c1 < 0x80 || c1 > 0xbf) return -1;
    return ((c0 & 0x1f) << 6) | (c1 & 0x3f);
  }
  if (c0 < 0xf0) {
    if (i + 2 >= n) return -1;
    const c1 = b[i + 1];
    const lo = c0 === 0xe0 ? 0xa0 : 0x80;
    const hi = c0 === 0xed ? 0x9f : 0xbf;
    if (c1 < lo || c1 > hi) return -1;
    const c2 = b[i + 2];
    if (c2 < 0x80 || c2 > 0xbf) return -1;
    return ((c0 & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
  }
  if (i + 3 >= n) return -1;
  const c1 = b[i + 1];
  const lo = c0 === 0xf0 ? 0x90 : 0x80;
  const hi = c0 === 0xf4 ? 0x8f : 0xbf;
  if (c1 < lo || c1 > hi) return -1;
  const c2 = b[i + 2];
  const c3 = b[i + 3];
  if (c2 < 0x80 || c2 > 0xbf || c3 < 0x80 || c3 > 0xbf) return -1;
  return ((c0 & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f);
}

/** Number of UTF-8 bytes of a valid rune. */
export function runeLength(r: number): number {
  return r < 0x80 ? 1 : r < 0x800 ? 2 : r < 0x10000 ? 3 : 4;
}

const NEEDS_ESCAPE = /[\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]/;

function escapeCode(c: number): string {
  switch (c) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return '\\\\';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    default:
      return '\\u' + HEX[c >> 12] + HEX[(c >> 8) & 15] + HEX[(c >> 4) & 15] + HEX[c & 15];
  }
}

/** The escaped body of a JSON string (no quotes); lone surrogates count as invalid UTF-8. */
function escapeBody(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  let out = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) rep = escapeCode(c);
    else if (c === 0x2028 || c === 0x2029) rep = escapeCode(c);
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      rep = '\\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) rep = '\\ufffd';
    else continue;
    out += s.slice(start, i) + rep;
    start = i + 1;
  }
  return out + s.slice(start);
}

/** A JS string as Go's json.Marshal writes a string, quotes included. */
export function goJsonString(s: string): string {
  return '"' + escapeBody(s) + '"';
}

/** A byte string (possibly invalid UTF-8) as Go's json.Marshal writes a string: lossy, \ufffd per bad byte. */
export function goJsonBytesString(b: Uint8Array): string {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (isUtf8(buf)) return '"' + escapeBody(buf.toString('utf8')) + '"';
  let out = '"';
  let start = 0;
  let i = 0;
  while (i < buf.length) {
    const r = decodeRune(buf, i);
    if (r >= 0) {
      i += runeLength(r);
      continue;
    }
    out += escapeBody(buf.toString('utf8', start, i)) + '\\ufffd';
    i++;
    start = i;
  }
  return out + escapeBody(buf.toString('utf8', start, i)) + '"';
}

/** Go's encoding of a []byte: standard base64 with padding, quotes included. */
export function goJsonBase64(b: Uint8Array): string {
  return '"' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64') + '"';
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes standard padded base64 strictly, as Go does for []byte fields (\r and \n are skipped). */
export function parseGoBase64(s: string, what: string): Buffer {
  const t = s.includes('\n') || s.includes('\r') ? s.replace(/[\r\n]/g, '') : s;
  if (!BASE64.test(t)) fail('INTEGRITY', `${what}: invalid base64 data`);
  return Buffer.from(t, 'base64');
}

const MAX_DEPTH = 10000;

export interface ParseOptions {
  /**
   * Collects every decoded string whose JSON text spelled U+FFFD as the escape \ufffd, which is
   * how Go marks bytes of invalid UTF-8 it replaced (a raw U+FFFD would have been written raw).
   */
  escapedReplacement?: Set<string>;
}

/**
 * Parses JSON text (or UTF-8 bytes) like JSON.parse, except that integers outside
 * Number.MAX_SAFE_INTEGER come back as bigint and invalid surrogate escapes become U+FFFD (as in Go).
 * Objects are plain objects; a later duplicate key replaces an earlier one.
 */
export function parseJsonLossless(input: string | Uint8Array, options: ParseOptions = {}): unknown {
  const s =
    typeof input === 'string'
      ? input
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  let i = 0;
  let depth = 0;

  const bad = (what: string): never => fail('INTEGRITY', `malformed JSON at offset ${i}: ${what}`);

  const skipWs = (): void => {
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };

  const hex4 = (at: number): number => {
    let v = 0;
    for (let k = at; k < at + 4; k++) {
      const c = s.charCodeAt(k);
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else return -1;
      v = (v << 4) | d;
    }
    return v;
  };

  const parseString = (): string => {
    const begin = ++i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x22) return s.slice(begin, i++);
      if (c === 0x5c) break;
      if (c < 0x20 || Number.isNaN(c)) bad('unterminated string or control character in string');
      i++;
    }
    let out = s.slice(begin, i);
    let replaced = false;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        if (replaced) options.escapedReplacement?.add(out);
        return out;
      }
      if (c < 0x20 || Number.isNaN(c)) bad('unterminated string or control character in string');
      if (c !== 0x5c) {
        const from = i;
        while (i < s.length) {
          const d = s.charCodeAt(i);
          if (d === 0x22 || d === 0x5c || d < 0x20) break;
          i++;
        }
        out += s.slice(from, i);
        continue;
      }
      const e = s.charCodeAt(i + 1);
      i += 2;
      switch (e) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          const u = hex4(i);
          if (u < 0) bad('invalid \\u escape');
          i += 4;
          if (u >= 0xd800 && u <= 0xdbff && s.charCodeAt(i) === 0x5c && s.charCodeAt(i + 1) === 0x75) {
            const v = hex4(i + 2);
            if (v >= 0xdc00 && v <= 0xdfff) {
              out += String.fromCharCode(u, v);
              i += 6;
              break;
            }
          }
          if (u === 0xfffd) replaced = true;
          out += u >= 0xd800 && u <= 0xdfff ? '\ufffd' : String.fromCharCode(u);
          break;
        }
        default:
          i -= 2;
          bad('invalid escape in string');
      }
    }
  };

  const parseNumber = (): number | bigint => {
    const begin = i;
    if (s.charCodeAt(i) === 0x2d) i++;
    const first = s.charCodeAt(i);
    if (first === 0x30) i++;
    else if (first >= 0x31 && first <= 0x39) {
      while (s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    } else bad('invalid number');
    let integer = true;
    if (s.charCodeAt(i) === 0x2e) {
      integer = false;
      i++;
      if (!(s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39)) bad('invalid number');
      while (s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    }
    const ex = s.charCodeAt(i);
    if (ex === 0x65 || ex === 0x45) {
      integer = false;
      i++;
      const sign = s.charCodeAt(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      if (!(s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39)) bad('invalid number');
      while (s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    }
    const text = s.slice(begin, i);
    if (!integer || text.length <= 15) return Number(text);
    const big = BigInt(text);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(big)
      : big;
  };

  const literal = (word: string, value: unknown): unknown => {
    if (!s.startsWith(word, i)) bad('invalid literal');
    i += word.length;
    return value;
  };

  const parseValue = (): unknown => {
    skipWs();
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x22:
        return parseString();
      case 0x7b:
        return parseObject();
      case 0x5b:
        return parseArray();
      case 0x74:
        return literal('true', true);
      case 0x66:
        return literal('false', false);
      case 0x6e:
        return literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return parseNumber();
        return bad(Number.isNaN(c) ? 'unexpected end of input' : 'unexpected character');
    }
  };

  const parseArray = (): unknown[] => {
    if (++depth > MAX_DEPTH) bad('nested too deeply');
    i++;
    const out: unknown[] = [];
    skipWs();
    if (s.charCodeAt(i) === 0x5d) {
      i++;
      depth--;
      return out;
    }
    for (;;) {
      out.push(parseValue());
      skipWs();
      const c = s.charCodeAt(i++);
      if (c === 0x5d) break;
      if (c !== 0x2c) {
        i--;
        bad('expected , or ] in array');
      }
    }
    depth--;
    return out;
  };

  const parseObject = (): Record<string, unknown> => {
    if (++depth > MAX_DEPTH) bad('nested too deeply');
    i++;
    const out: Record<string, unknown> = {};
    skipWs();
    if (s.charCodeAt(i) === 0x7d) {
      i++;
      depth--;
      return out;
    }
    for (;;) {
      skipWs();
      if (s.charCodeAt(i) !== 0x22) bad('expected string key in object');
      const key = parseString();
      skipWs();
      if (s.charCodeAt(i++) !== 0x3a) {
        i--;
        bad('expected : in object');
      }
      const value = parseValue();
      if (key === '__proto__')
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
      skipWs();
      const c = s.charCodeAt(i++);
      if (c === 0x7d) break;
      if (c !== 0x2c) {
        i--;
        bad('expected , or } in object');
      }
    }
    depth--;
    return out;
  };

  const value = parseValue();
  skipWs();
  if (i < s.length) bad('unexpected data after the JSON value');
  return value;
}

/** Does s decode as a restic ID (64 hex digits, either case; restic writes lowercase)? */
export function isGoId(s: string): boolean {
  return /^[0-9a-fA-F]{64}$/.test(s);
}

/** Is v a plain JSON object (not an array, not null)? */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The canonical (lowercase) field name a JSON key matches, Go-style: exact match first, then
 * case-insensitive (Go also folds U+017F to s and U+212A to k). undefined for unknown keys.
 */
export function matchField(key: string, fields: ReadonlySet<string>): string | undefined {
  if (fields.has(key)) return key;
  const folded = key.toLowerCase().replace(/\u017f/g, 's');
  return fields.has(folded) ? folded : undefined;
}
