/**
 * Lock documents (the plaintext of `locks/<id>`) as restic writes them:
 * `{"time":T,"exclusive":b,"hostname":s,"username":s,"pid":n,"uid":n,"gid":n}` with uid and gid
 * omitted when 0 and no trailing newline. The locking protocol itself lives in lock.ts.
 */
import { fail } from '../errors.js';
import { goJsonString, isJsonObject, matchField, parseJsonLossless } from './gojson.js';
import { GO_ZERO_TIME, normalizeGoTime } from './gotime.js';

export interface LockInfo {
  time: string;
  exclusive: boolean;
  hostname: string;
  username: string;
  pid: number;
  uid?: number;
  gid?: number;
}

/** The lock JSON restic writes (no trailing newline). */
export function encodeLock(l: LockInfo): Buffer {
  let out = `{"time":${goJsonString(l.time || GO_ZERO_TIME)},"exclusive":${l.exclusive ? 'true' : 'false'}`;
  out += `,"hostname":${goJsonString(l.hostname)},"username":${goJsonString(l.username)},"pid":${Math.trunc(l.pid)}`;
  if (l.uid) out += `,"uid":${l.uid >>> 0}`;
  if (l.gid) out += `,"gid":${l.gid >>> 0}`;
  return Buffer.from(out + '}', 'utf8');
}

const FIELDS = new Set(['time', 'exclusive', 'hostname', 'username', 'pid', 'uid', 'gid']);

function invalid(field: string, v: unknown): never {
  return fail('INTEGRITY', `lock field "${field}" has an invalid value ${String(v)}`);
}

/** Decodes a lock's JSON plaintext (Go rules: case-insensitive names, unknown fields ignored). */
export function decodeLock(plaintext: Uint8Array): LockInfo {
  const doc = parseJsonLossless(plaintext);
  if (!isJsonObject(doc)) return fail('INTEGRITY', 'lock is not a JSON object');
  const l: LockInfo = { time: GO_ZERO_TIME, exclusive: false, hostname: '', username: '', pid: 0 };
  for (const [key, val] of Object.entries(doc)) {
    const f = matchField(key, FIELDS);
    if (f === undefined || val === null) continue;
    switch (f) {
      case 'time':
        l.time = typeof val === 'string' ? normalizeGoTime(val) : invalid(f, val);
        break;
      case 'exclusive':
        l.exclusive = typeof val === 'boolean' ? val : invalid(f, val);
        break;
      case 'hostname':
      case 'username':
        l[f] = typeof val === 'string' ? val : invalid(f, val);
        break;
      case 'pid':
        l.pid = typeof val === 'number' && Number.isInteger(val) ? val : invalid(f, val);
        break;
      case 'uid':
      case 'gid':
        l[f] =
          typeof val === 'number' && Number.isInteger(val) && val >= 0 && val <= 0xffffffff
            ? val
            : invalid(f, val);
        break;
    }
  }
  return l;
}
