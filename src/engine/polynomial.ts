/**
 * Polynomials over GF(2) for the chunker (restic-format.md §6.2, §6.4): parsing and
 * formatting the config's `chunker_polynomial`, the Ben-Or irreducibility test, and picking a
 * random irreducible polynomial of degree 53 as restic does. Values are bigints used as bit
 * vectors; none of this is on a hot path.
 */
import { randomBytes } from 'node:crypto';
import { fail } from '../errors.js';

/** Index of the highest set bit; -1 for zero. */
export function degree(p: bigint): number {
  return p === 0n ? -1 : p.toString(2).length - 1;
}

/** Remainder of x divided by m. */
export function polyMod(x: bigint, m: bigint): bigint {
  const dm = degree(m);
  if (dm < 0) throw new RangeError('division by the zero polynomial');
  let d = degree(x);
  while (d >= dm) {
    x ^= m << BigInt(d - dm);
    d = degree(x);
  }
  return x;
}

/** Carry-less product of a and b. */
function polyMul(a: bigint, b: bigint): bigint {
  let out = 0n;
  for (let i = 0; b >> BigInt(i) !== 0n; i++) if ((b >> BigInt(i)) & 1n) out ^= a << BigInt(i);
  return out;
}

function polyGcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, polyMod(a, b)];
  return a;
}

/** Ben-Or: f is irreducible iff gcd(f, x^(2^i) - x mod f) = 1 for i = 1 .. deg(f)/2. */
export function isIrreducible(f: bigint): boolean {
  const d = degree(f);
  if (d < 1) return false;
  let g = 2n; // the polynomial x
  for (let i = 1; i <= d >> 1; i++) {
    g = polyMod(polyMul(g, g), f);
    if (polyGcd(f, g ^ 2n) !== 1n) return false;
  }
  return true;
}

const DEGREE = 53n;

/** A random irreducible polynomial of degree 53 (bits 0 and 53 set), as `restic init` picks. */
export function randomPolynomial(): bigint {
  for (let tries = 0; tries < 1_000_000; tries++) {
    let p = randomBytes(8).readBigUInt64LE() & ((1n << (DEGREE + 1n)) - 1n);
    p |= (1n << DEGREE) | 1n;
    if (isIrreducible(p)) return p;
  }
  /* c8 ignore next: about one in 37 candidates is irreducible */
  throw new Error('no irreducible polynomial found');
}

/** The config's form: lowercase hex, no prefix, no leading zeros. */
export function formatPolynomial(p: bigint): string {
  return p.toString(16);
}

export function parsePolynomial(text: string): bigint {
  if (!/^(0x)?[0-9a-fA-F]{1,16}$/.test(text))
    fail('REPO_UNSUPPORTED', `the chunker polynomial "${text}" in the config is not a hex number`);
  return BigInt(text.startsWith('0x') ? text : `0x${text}`);
}
