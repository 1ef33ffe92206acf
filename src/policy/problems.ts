/**
 * Problems found in a policy file and the error that carries them. Each problem is one
 * line, `FILE:LINE:COL: where: what is wrong — what to change`; the error's message is
 * those lines, in file order. Messages never contain secret values.
 */
import { HoldfastError } from '../errors.js';

export type Path = readonly (string | number)[];

/** A problem before it has a position: the path of the offending node in the document. */
export interface Problem {
  path: Path;
  /** "what is wrong — what to change", without the path. */
  message: string;
  /** Point at the key of the path's entry rather than at its value. */
  at?: 'key' | 'value';
  /** Leave the dotted path out of the line (the message names the place itself). */
  bare?: boolean;
}

export interface PolicyProblem {
  /** The policy file as the user named it. */
  file: string;
  line: number;
  column: number;
  /** Everything after `FILE:LINE:COL: `. */
  message: string;
}

export function formatProblem(p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

/** `assets.db.copies[0]`; "(top level)" for the root. */
export function dotted(path: Path): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out || '(top level)';
}

export class PolicyError extends HoldfastError {
  readonly problems: PolicyProblem[];

  constructor(problems: PolicyProblem[]) {
    super('INVALID_POLICY', problems.map(formatProblem).join('\n'));
    this.problems = problems;
    this.name = 'PolicyError';
  }
}
