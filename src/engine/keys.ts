/**
 * Key files (keys/<id>): plain JSON holding scrypt parameters and the master key sealed
 * with a key derived from a password (restic-format.md §3.2).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { fail, HoldfastError } from '../errors.js';
import type { Backend } from '../backends/backend.js';
import { deriveKey, isValidKey, type MasterKey, open, type ScryptParams, seal } from './crypto.js';
import { formatGoTime, localOffsetMinutes } from './gotime.js';

export interface KeyFile {
  created: string;
  username: string;
  hostname: string;
  kdf: string;
  N: number;
  r: number;
  p: number;
  salt: string;
  data: string;
}

export function nowGoTime(): string {
  const ms = Date.now();
  return formatGoTime(
    BigInt(ms) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n),
    localOffsetMinutes(ms),
  );
}

function encodeMasterKey(k: MasterKey): Buffer {
  return Buffer.from(
    JSON.stringify({
      mac: { k: k.macK.toString('base64'), r: k.macR.toString('base64') },
      encrypt: k.encrypt.toString('base64'),
    }),
  );
}

function decodeMasterKey(json: Buffer): MasterKey {
  const o = JSON.parse(json.toString('utf8')) as { mac?: { k?: string; r?: string }; encrypt?: string };
  const key = {
    encrypt: Buffer.from(o.encrypt ?? '', 'base64'),
    macK: Buffer.from(o.mac?.k ?? '', 'base64'),
    macR: Buffer.from(o.mac?.r ?? '', 'base64'),
  };
  if (!isValidKey(key)) fail('INTEGRITY', 'the master key in the key file is invalid');
  return key;
}

/** Who a new key file names as its creator (restic `key add --user/--host`); defaults to this process. */
export interface KeyOwner {
  username?: string;
  hostname?: string;
}

/** Wraps `master` with `password` and stores a new key file; returns its ID. */
export async function addKey(
  backend: Backend,
  master: MasterKey,
  password: Buffer,
  params: ScryptParams,
  owner: KeyOwner = {},
): Promise<string> {
  const salt = randomBytes(64);
  const userKey = await deriveKey(password, salt, params);
  const file: KeyFile = {
    created: nowGoTime(),
    username: owner.username || safeUsername(),
    hostname: owner.hostname || os.hostname(),
    kdf: 'scrypt',
    N: params.N,
    r: params.r,
    p: params.p,
    salt: salt.toString('base64'),
    data: seal(userKey, encodeMasterKey(master)).toString('base64'),
  };
  const bytes = Buffer.from(JSON.stringify(file));
  const id = createHash('sha256').update(bytes).digest('hex');
  await backend.save({ type: 'key', name: id }, bytes);
  return id;
}

function safeUsername(): string {
  try {
    return os.userInfo().username;
  } catch {
    return '';
  }
}

function parseKeyFile(bytes: Buffer, id: string): KeyFile {
  let k: KeyFile;
  try {
    k = JSON.parse(bytes.toString('utf8')) as KeyFile;
  } catch (err) {
    return fail('INTEGRITY', `key file ${id.slice(0, 8)} is not valid JSON`, err);
  }
  if (k.kdf !== 'scrypt')
    fail('REPO_UNSUPPORTED', `key file ${id.slice(0, 8)} uses unsupported kdf "${k.kdf}"`);
  const salt = Buffer.from(k.salt ?? '', 'base64');
  if (salt.length !== 64)
    fail('INTEGRITY', `key file ${id.slice(0, 8)} has a salt of ${salt.length} bytes, not 64`);
  return k;
}

/** Every key file of the repository with its metadata (the sealed master key stays sealed). */
export async function listKeys(backend: Backend): Promise<{ id: string; file: KeyFile }[]> {
  const ids = (await backend.list('key')).map((f) => f.name).sort();
  const out: { id: string; file: KeyFile }[] = [];
  for (const id of ids)
    out.push({ id, file: parseKeyFile(await backend.load({ type: 'key', name: id }), id) });
  return out;
}

/** Deletes one key file; refuses the one the repository is open with, as restic does. */
export async function removeKey(backend: Backend, id: string, currentKeyId: string): Promise<void> {
  if (id === currentKeyId)
    fail('INVALID_ARGUMENT', 'refusing to remove the key currently used to access the repository');
  await backend.remove({ type: 'key', name: id });
}

/**
 * Finds the key file that `password` opens (at most 20 tried, the hinted one first) and
 * returns the master key. A wrong password gives WRONG_PASSWORD.
 */
export async function openWithPassword(
  backend: Backend,
  password: Buffer,
  keyHint?: string,
): Promise<{ master: MasterKey; keyId: string }> {
  const ids = (await backend.list('key')).map((f) => f.name).sort();
  if (ids.length === 0)
    fail('REPO_NOT_FOUND', `no key files found in ${backend.location}: is it a repository?`);
  const ordered = keyHint
    ? [...ids.filter((i) => i.startsWith(keyHint)), ...ids.filter((i) => !i.startsWith(keyHint))]
    : ids;
  for (const id of ordered.slice(0, 20)) {
    const k = parseKeyFile(await backend.load({ type: 'key', name: id }), id);
    const userKey = await deriveKey(password, Buffer.from(k.salt, 'base64'), { N: k.N, r: k.r, p: k.p });
    let plain: Buffer;
    try {
      plain = open(userKey, Buffer.from(k.data, 'base64'), 'key');
    } catch (err) {
      if (err instanceof HoldfastError && err.code === 'INTEGRITY') continue;
      throw err;
    }
    return { master: decodeMasterKey(plain), keyId: id };
  }
  return fail('WRONG_PASSWORD', 'wrong password or no key found: check the password for this repository');
}
