/**
 * Exclude patterns with restic's rules: `*` and `?` and `[...]` match inside one path
 * component, `**` any number of components; a pattern without a leading `/` may match
 * starting at any component; a pattern matching a directory excludes all below it.
 */

type Part = RegExp | '**';

export interface ExcludeMatcher {
  patterns: string[];
  matches(absPath: string): boolean;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith('!') || body.startsWith('^')) body = '^' + body.slice(1);
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) re += '\\' + glob[++i];
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

function compile(pattern: string): Part[] {
  const trimmed = pattern.replace(/\/+$/, '');
  const parts: Part[] = trimmed
    .split('/')
    .filter((p) => p !== '')
    .map((p) => (p === '**' ? '**' : globToRegExp(p)));
  return trimmed.startsWith('/') ? parts : ['**', ...parts];
}

/** True when `parts` matches a prefix of `names` ending at a component boundary. */
function matchPrefix(parts: Part[], names: string[], pi = 0, ni = 0): boolean {
  if (pi === parts.length) return true;
  const p = parts[pi];
  if (p === '**') {
    for (let k = ni; k <= names.length; k++) if (matchPrefix(parts, names, pi + 1, k)) return true;
    return false;
  }
  return ni < names.length && p.test(names[ni]) && matchPrefix(parts, names, pi + 1, ni + 1);
}

export function excludeMatcher(patterns: readonly string[]): ExcludeMatcher {
  const compiled = patterns.filter((p) => p.trim() !== '' && !p.startsWith('#')).map(compile);
  return {
    patterns: [...patterns],
    matches(absPath: string): boolean {
      if (compiled.length === 0) return false;
      const names = absPath.split('/').filter((n) => n !== '');
      return compiled.some((parts) => matchPrefix(parts, names));
    },
  };
}
