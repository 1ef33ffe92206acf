/**
 * Repository URLs made safe to print: a password in the user-info part of a URL
 * (`rest:https://user:secret@host/`) is replaced by `***`, as restic prints it.
 */

export function redactUrl(url: string): string {
  return url.replace(/^([a-z0-9+.-]*:?[a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/]*@/i, '$1:***@');
}
