/**
 * Defensive redaction of secrets in text the catalog stores (job errors, abort reasons,
 * string values inside job details). Callers are expected to pass redacted text already;
 * this is the second line of defence so that a password never lands in the catalog.
 */

const MASK = '***';

/** `password=…`, `PGPASSWORD=…`, `token=…`, `api_key=…` and the like: the value is masked. */
const KEY_VALUE =
  /\b([\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key)[\w.-]*)(\s*=\s*)("[^"]*"|'[^']*'|[^\s&;,'"]*)/gi;

/** `scheme://user:pass@host`: the password is masked, the user kept. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):([^\s@]*)@/gi;

/** Returns `text` with passwords of connection strings and `password=` style values masked. */
export function redactSecrets(text: string): string {
  return text
    .replace(URL_USERINFO, (_m, head: string) => `${head}:${MASK}@`)
    .replace(KEY_VALUE, (_m, key: string, eq: string) => `${key}${eq}${MASK}`);
}

/** Applies `redactSecrets` to every string (values only, not keys) inside a JSON-like value. */
export function redactJson(value: unknown): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (Array.isArray(value)) return value.map(redactJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactJson(v);
    return out;
  }
  return value;
}
