/**
 * `${NAME}` references to environment variables in the policy file, for secrets that must
 * not be written in it (passwords, URLs with credentials, webhook URLs). Validation checks
 * only their syntax; `resolveSecretRef` replaces them at run time from an environment the
 * caller passes in (nothing below app/ reads process.env). `$${` writes a literal `${`.
 * Messages name the variable, never its value.
 */
import { fail } from '../errors.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Part = { literal: string } | { ref: string };

/** Splits a string into literals and references; a string message when the syntax is wrong. */
function scan(value: string): Part[] | string {
  const parts: Part[] = [];
  let lit = '';
  for (let i = 0; i < value.length; i++) {
    if (value.startsWith('$${', i)) {
      lit += '${';
      i += 2;
      continue;
    }
    if (!value.startsWith('${', i)) {
      lit += value[i];
      continue;
    }
    const end = value.indexOf('}', i + 2);
    if (end < 0) return 'a "${" is not closed — write references as ${NAME}, or $${ for a literal "${"';
    const name = value.slice(i + 2, end);
    if (!NAME.test(name))
      return `"\${${name}}" is not a valid reference — a variable name has letters, digits and _ and does not start with a digit (e.g. \${BACKUP_PASSWORD})`;
    if (lit) parts.push({ literal: lit });
    lit = '';
    parts.push({ ref: name });
    i = end;
  }
  if (lit) parts.push({ literal: lit });
  return parts;
}

/** Why the references in `value` are malformed, or undefined when they are fine. */
export function secretRefProblem(value: string): string | undefined {
  const r = scan(value);
  return typeof r === 'string' ? r : undefined;
}

/** The environment variables `value` refers to. */
export function secretRefNames(value: string): string[] {
  const r = scan(value);
  return typeof r === 'string' ? [] : r.flatMap((p) => ('ref' in p ? [p.ref] : []));
}

export function hasSecretRef(value: string): boolean {
  return secretRefNames(value).length > 0;
}

/**
 * Replaces every `${NAME}` with the variable's value from `env`. Throws MISSING_SECRET when
 * a variable is unset or empty; `where` (e.g. "keys.primary.password") goes in the message.
 */
export function resolveSecretRef(
  value: string,
  env: Readonly<Record<string, string | undefined>>,
  where = 'the policy file',
): string {
  const parts = scan(value);
  if (typeof parts === 'string') return fail('INVALID_POLICY', `${where}: ${parts}`);
  let out = '';
  for (const p of parts) {
    if ('literal' in p) out += p.literal;
    else {
      const v = env[p.ref];
      if (v === undefined || v === '')
        fail(
          'MISSING_SECRET',
          `environment variable ${p.ref} is not set (${where} refers to it) — set it before running holdfast`,
        );
      out += v;
    }
  }
  return out;
}
