/**
 * Keeping secrets out of messages: a connection URL is shown with its password masked, and
 * text from a child tool (its stderr) has known secrets and any URL password masked.
 */

const MASK = '***';

/** `scheme://user:pass@host/db` → `scheme://user:***@host/db`; anything else unchanged. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return redactText(url);
  }
  if (!u.password) return url;
  u.password = MASK;
  return u.toString();
}

const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):([^\s@/]*)@/gi;

/** Masks every occurrence of each secret and the password part of URLs in `text`. */
export function redactText(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(URL_PASSWORD, (_m, head: string) => `${head}:${MASK}@`);
  for (const s of secrets) if (s) out = out.split(s).join(MASK);
  return out;
}

/** A redactor for one set of secrets, for CommandStreamOptions.redact. */
export function redactorFor(...secrets: (string | undefined)[]): (text: string) => string {
  return (text) => redactText(text, secrets);
}
