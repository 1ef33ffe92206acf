/**
 * OpenSSH known_hosts checking: plain and hashed (`|1|salt|hmac`) host names, `[host]:port`
 * for ports other than 22, `*`/`?` wildcards and `!` negations, and `@revoked` keys.
 * Certificate authorities (`@cert-authority`) are not supported and are skipped.
 */
import { createHash, createHmac } from 'node:crypto';

export type HostKeyVerdict = 'known' | 'unknown' | 'changed' | 'revoked';

/** OpenSSH's fingerprint of a public key blob: "SHA256:" and unpadded base64. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside a public key blob (its first SSH string), e.g. "ssh-ed25519". */
export function keyType(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return '';
  const n = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + n).toString('latin1');
}

/** The name a host has in known_hosts: "host" on port 22, "[host]:port" otherwise. */
export function hostEntryName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  return globMatch(pattern, name);
}

/** True when a comma-separated host list names `name` (a negated match excludes it). */
function hostsMatch(list: string, name: string): boolean {
  let matched = false;
  for (const p of list.split(',')) {
    if (p.startsWith('!')) {
      if (patternMatches(p.slice(1), name)) return false;
    } else if (patternMatches(p, name)) matched = true;
  }
  return matched;
}

/** Looks a server's key up in the text of a known_hosts file. */
export function checkKnownHost(text: string, host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const name = hostEntryName(host, port);
  const type = keyType(keyBlob);
  const b64 = keyBlob.toString('base64');
  let known = false;
  let sameTypeOther = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker = '';
    if (fields[0].startsWith('@')) marker = fields.shift()!;
    if (fields.length < 3 || marker === '@cert-authority') continue;
    const [hosts, ktype, key] = fields;
    if (!hostsMatch(hosts, name)) continue;
    if (marker === '@revoked') {
      if (key === b64) return 'revoked';
      continue;
    }
    if (key === b64) known = true;
    else if (ktype === type) sameTypeOther = true;
  }
  if (known) return 'known';
  return sameTypeOther ? 'changed' : 'unknown';
}
