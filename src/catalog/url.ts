/**
 * Catalog URLs: `sqlite:PATH` (or `sqlite::memory:`) and `postgres://…` / `postgresql://…`.
 * Parsing only; nothing is opened here. `describeCatalogUrl` gives the form that may appear
 * in messages: a password in the URL is never shown.
 */
import { fail } from '../errors.js';
import { redactSecrets } from './redact.js';

export type CatalogDialect = 'sqlite' | 'postgres';

export type CatalogLocation =
  | { readonly dialect: 'sqlite'; readonly path: string }
  | { readonly dialect: 'postgres'; readonly connectionString: string };

/** The URL with any password replaced by `***`, for error messages and logs. */
export function describeCatalogUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') {
      u.password = '***';
      return u.toString();
    }
  } catch {
    // not a WHATWG URL (e.g. sqlite:relative/path); fall through to the text redaction
  }
  return redactSecrets(url);
}

export function parseCatalogUrl(url: string): CatalogLocation {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') {
      fail('CATALOG', 'the catalog URL "sqlite:" has no path; write e.g. sqlite:.holdfast/catalog.db');
    }
    return { dialect: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//i.test(url)) {
    return { dialect: 'postgres', connectionString: url };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  fail(
    'CATALOG',
    `the catalog URL ${JSON.stringify(describeCatalogUrl(url))} ` +
      (scheme === undefined ? 'has no scheme' : `has the unknown scheme "${scheme}:"`) +
      '; use sqlite:PATH or postgres://USER@HOST:PORT/DATABASE',
  );
}
