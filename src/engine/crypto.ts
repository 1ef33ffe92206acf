/**
 * restic's authenticated encryption (AES-256-CTR + Poly1305-AES) and its key derivation.
 * A sealed box is IV(16) || ciphertext || MAC(16); see restic-format.md §3.
 */
import {
  type Cipher,
  createCipheriv,
  createDecipheriv,
  randomBytes,
  scrypt,
  timingSafeEqual,
} from 'node:crypto';
import { poly1305 } from './poly1305.js';
import { fail } from '../errors.js';

export interface MasterKey {
  /** AES-256 key. */
  encrypt: Buffer;
  /** AES-128 key that derives the Poly1305 `s` from the IV. */
  macK: Buffer;
  /** Poly1305 `r` (clamped when used). */
  macR: Buffer;
}

export const SEAL_OVERHEAD = 32;
export const IV_LEN = 16;
const MAC_LEN = 16;
const CLAMP = Buffer.from('ffffff0ffcffff0ffcffff0ffcffff0f', 'hex');

export function newMasterKey(): MasterKey {
  const raw = randomBytes(64);
  const macR = Buffer.from(raw.subarray(48, 64));
  for (let i = 0; i < 16; i++) macR[i] &= CLAMP[i];
  return { encrypt: raw.subarray(0, 32), macK: raw.subarray(32, 48), macR };
}

/** Splits a 64-byte derived key into a MasterKey, as restic does for user keys. */
export function keyFromBytes(raw: Buffer): MasterKey {
  return { encrypt: raw.subarray(0, 32), macK: raw.subarray(32, 48), macR: raw.subarray(48, 64) };
}

export function isValidKey(key: MasterKey): boolean {
  const nonZero = (b: Buffer) => b.length > 0 && b.some((x) => x !== 0);
  return (
    key.encrypt.length === 32 &&
    key.macK.length === 16 &&
    key.macR.length === 16 &&
    nonZero(key.encrypt) &&
    nonZero(key.macK) &&
    nonZero(key.macR)
  );
}

/** The AES-128 cipher under the MAC key k that polyKeyOf uses (one may serve many boxes). */
function macCipherOf(key: MasterKey): Cipher {
  const aes = createCipheriv('aes-128-ecb', key.macK, null);
  aes.setAutoPadding(false);
  return aes;
}

/** One AES-128 cipher per key for polyKeyOf (ECB keeps no state between blocks). */
const macCiphers = new WeakMap<MasterKey, Cipher>();

function cachedMacCipher(key: MasterKey): Cipher {
  let aes = macCiphers.get(key);
  if (!aes) macCiphers.set(key, (aes = macCipherOf(key)));
  return aes;
}

/**
 * The Poly1305 key of a box, as restic derives it: clamped r || AES-128_k(IV), written into
 * `out` (a 32-byte buffer the caller may reuse).
 */
export function polyKeyOf(
  key: MasterKey,
  iv: Uint8Array,
  aes = cachedMacCipher(key),
  out = Buffer.alloc(32),
): Buffer {
  for (let i = 0; i < 16; i++) out[i] = key.macR[i] & CLAMP[i];
  out.set(aes.update(iv), 16);
  return out;
}

function macOf(key: MasterKey, iv: Buffer, ciphertext: Uint8Array): Uint8Array {
  return poly1305(ciphertext, polyKeyOf(key, iv));
}

/** Random bytes fetched ahead for IVs: one call per 256 boxes instead of one per box. */
let ivPool = Buffer.alloc(0);
let ivPoolUsed = 0;

/** A fresh random IV (never all zero): a view of the pool, which is never written again. */
function newIv(): Buffer {
  for (;;) {
    if (ivPoolUsed === ivPool.length) {
      ivPool = randomBytes(256 * IV_LEN);
      ivPoolUsed = 0;
    }
    const iv = ivPool.subarray(ivPoolUsed, (ivPoolUsed += IV_LEN));
    if (iv.some((b) => b !== 0)) return iv;
  }
}

/** Plaintext encrypted per cipher call: small outputs come from malloc's free lists. */
const SEAL_WINDOW = 64 * 1024;

/**
 * Seals the `n` plaintext bytes at out[IV_LEN …] in place: writes the IV before them and the
 * MAC after, so `out` then holds IV || ciphertext || MAC (n + SEAL_OVERHEAD bytes, which it
 * must have room for); returns that length. Encrypted in windows, so no buffer of the
 * plaintext's size is allocated: `out` can be reused memory.
 */
export function sealInPlace(key: MasterKey, out: Uint8Array, n: number): number {
  if (out.length < n + SEAL_OVERHEAD) throw new RangeError('sealInPlace: output buffer too small');
  const iv = newIv();
  out.set(iv, 0);
  const cipher = createCipheriv('aes-256-ctr', key.encrypt, iv);
  for (let at = IV_LEN; at < IV_LEN + n; at += SEAL_WINDOW)
    out.set(cipher.update(out.subarray(at, Math.min(at + SEAL_WINDOW, IV_LEN + n))), at);
  out.set(macOf(key, iv, out.subarray(IV_LEN, IV_LEN + n)), IV_LEN + n);
  return n + SEAL_OVERHEAD;
}

/** Seals `plaintext` into `out` (see sealInPlace); returns the sealed length. */
export function sealInto(key: MasterKey, plaintext: Uint8Array, out: Uint8Array): number {
  if (out.length < plaintext.length + SEAL_OVERHEAD)
    throw new RangeError('sealInto: output buffer too small');
  out.set(plaintext, IV_LEN);
  return sealInPlace(key, out, plaintext.length);
}

/** Encrypts and authenticates `plaintext`; output is 32 bytes longer. */
export function seal(key: MasterKey, plaintext: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(plaintext.length + SEAL_OVERHEAD);
  sealInto(key, plaintext, out);
  return out;
}

/** Verifies the MAC (constant time) and decrypts; throws INTEGRITY when the box was altered. */
export function open(key: MasterKey, sealed: Uint8Array, what = 'data'): Buffer {
  if (sealed.length < SEAL_OVERHEAD)
    fail('INTEGRITY', `${what}: ciphertext too short (${sealed.length} bytes)`);
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length);
  const iv = buf.subarray(0, IV_LEN);
  if (!iv.some((b) => b !== 0)) fail('INTEGRITY', `${what}: invalid all-zero nonce`);
  const ct = buf.subarray(IV_LEN, buf.length - MAC_LEN);
  const mac = buf.subarray(buf.length - MAC_LEN);
  const expected = Buffer.from(macOf(key, iv, ct));
  if (!timingSafeEqual(expected, mac)) fail('INTEGRITY', `${what}: ciphertext verification failed`);
  const decipher = createDecipheriv('aes-256-ctr', key.encrypt, iv);
  const plain = decipher.update(ct);
  const rest = decipher.final(); // empty for CTR: spare the copy a concat would make
  return rest.length > 0 ? Buffer.concat([plain, rest]) : plain;
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export function deriveKey(password: Buffer, salt: Buffer, params: ScryptParams): Promise<MasterKey> {
  const { N, r, p } = params;
  if (N < 2 || (N & (N - 1)) !== 0 || r < 1 || p < 1 || r * p >= 2 ** 30) {
    fail('REPO_UNSUPPORTED', `key file has invalid scrypt parameters N=${N} r=${r} p=${p}`);
  }
  const maxmem = 128 * N * r * (p + 2) + 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 64, { N, r, p, maxmem }, (err, derived) =>
      err ? reject(err) : resolve(keyFromBytes(derived)),
    );
  });
}

/**
 * Chooses scrypt parameters as restic does: N=32768, r=8, and p grown until one derivation
 * takes about `targetMs` (restic aims at 500 ms).
 */
export async function calibrateScrypt(targetMs = 500): Promise<ScryptParams> {
  const base = { N: 32768, r: 8, p: 1 };
  const started = process.hrtime.bigint();
  await deriveKey(Buffer.from('calibration'), randomBytes(64), base);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const p = Math.max(1, Math.min(16, Math.floor(targetMs / Math.max(ms, 1))));
  return { ...base, p };
}
