/**
 * Loading holdfast.yaml: YAML with positions, the schema, then the cross-reference checks.
 * Any problem throws a PolicyError (code INVALID_POLICY) listing every problem found as
 * `FILE:LINE:COL: where: what is wrong — what to change`. Schema problems are reported
 * together; the cross-reference checks run once the schema passes.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { type Document, LineCounter, parseDocument, type YAMLError } from 'yaml';
import { fail } from '../errors.js';
import { NAME_HELP } from './fields.js';
import { locate } from './positions.js';
import { dotted, type Path, PolicyError, type PolicyProblem, type Problem } from './problems.js';
import { resolvePolicy } from './resolve.js';
import { type PolicyFile, policySchema } from './schema.js';
import { checkSemantics } from './semantics.js';
import { SOURCE_TYPES } from './sources.js';
import { suggestion } from './suggest.js';
import type { Policy } from './types.js';

const YAML_HINTS: Record<string, string> = {
  DUPLICATE_KEY: 'this key appears twice in the same map — remove or rename one of them',
  BAD_INDENT: 'indent the entries of one map or list by the same number of spaces',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  MISSING_CHAR: 'add the missing closing character',
  BLOCK_AS_IMPLICIT_KEY: 'put values that contain ": " in quotes',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line: check the indentation and quotes above',
  MULTIPLE_DOCS: 'keep the whole policy in one YAML document (remove the ---)',
};

function yamlHint(err: YAMLError): string {
  if (/alias/i.test(err.message))
    return 'put the value in quotes: a value starting with * is read as a YAML alias (e.g. schedule: "*/15 * * * *")';
  return YAML_HINTS[err.code] ?? 'fix the YAML syntax here (put values with special characters in quotes)';
}

/** The yaml library's message without any quoted source text (it could be a secret). */
function yamlMessage(err: YAMLError): string {
  return err.message.replace(/:\s*".*"$/s, '').replace(/\s+at line \d+, column \d+.*$/s, '');
}

function typeWord(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return 'text';
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'boolean') return String(v);
  return typeof v;
}

const EXPECTED: Record<string, string> = {
  string: 'text',
  object: 'a map (key: value entries)',
  array: 'a list',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

interface RawIssue {
  code: string;
  path: PropertyKey[];
  message: string;
  input?: unknown;
  keys?: string[];
  expected?: string;
  note?: string;
  discriminator?: string;
  origin?: string;
  minimum?: number | bigint;
}

interface SchemaLike {
  description?: string;
  _zod?: { def?: { shape?: Record<string, unknown> } };
}

function schemaProblems(data: unknown): { value?: PolicyFile; problems: Problem[] } {
  const allowedKeys = new Map<string, string[]>();
  const descriptions = new Map<string, string>();
  const pathKey = (p: readonly PropertyKey[]) => JSON.stringify(p.map(String));
  const r = policySchema.safeParse(data, {
    reportInput: true,
    error: (iss) => {
      const raw = iss as unknown as { inst?: SchemaLike; schema?: SchemaLike; path?: PropertyKey[] };
      const k = pathKey(raw.path ?? []);
      if (iss.code === 'unrecognized_keys') allowedKeys.set(k, Object.keys(raw.inst?._zod?.def?.shape ?? {}));
      const d = raw.inst?.description ?? raw.schema?.description;
      if (d) descriptions.set(k, d);
      return undefined;
    },
  });
  if (r.success) return { value: r.data, problems: [] };
  const problems: Problem[] = [];
  for (const iss of r.error.issues as unknown as RawIssue[]) {
    const p = iss.path.map((s) => (typeof s === 'number' ? s : String(s)));
    const hint = descriptions.get(pathKey(iss.path));
    const last = p[p.length - 1];
    switch (iss.code) {
      case 'unrecognized_keys': {
        const allowed = allowedKeys.get(pathKey(iss.path)) ?? [];
        for (const key of iss.keys ?? [])
          problems.push({
            path: [...p, key],
            at: 'key',
            message: `${p.length ? `${dotted(p)}: ` : ''}unknown key "${key}" — ${suggestion(key, allowed, 'remove it; allowed here')}`,
            bare: true,
          });
        continue;
      }
      case 'invalid_key':
        problems.push({
          path: p,
          at: 'key',
          message: `"${String(last)}" is not a valid name — ${NAME_HELP}`,
          bare: true,
        });
        continue;
      case 'invalid_union':
        if (iss.note === 'No matching discriminator') {
          const parent = p.slice(0, -1);
          const type = (iss.input as Record<string, unknown> | undefined)?.type;
          if (type === undefined)
            problems.push({
              path: parent,
              at: 'key',
              message: `has no type — add type: one of ${SOURCE_TYPES.join(', ')}`,
            });
          else
            problems.push({
              path: p,
              message:
                typeof type === 'string'
                  ? `unknown source type "${type}" — ${suggestion(type, SOURCE_TYPES)}`
                  : `must be one of ${SOURCE_TYPES.join(', ')} — e.g. type: files`,
            });
          continue;
        }
        problems.push({
          path: p,
          message: `${typeWord(iss.input)} is not allowed here — ${hint ?? 'see the JSON schema (holdfast schema)'}`,
        });
        continue;
      case 'invalid_type':
        if (iss.input === undefined && typeof last === 'string') {
          problems.push({
            path: p.slice(0, -1),
            at: 'key',
            message: `${last} is missing — add ${last}: ${hint ?? `(${EXPECTED[iss.expected ?? ''] ?? iss.expected})`}`,
          });
          continue;
        }
        problems.push({
          path: p,
          message: `expected ${EXPECTED[iss.expected ?? ''] ?? iss.expected} but found ${typeWord(iss.input)}${hint ? ` — ${hint}` : ''}`,
        });
        continue;
      case 'too_small':
        if (iss.origin === 'string') {
          problems.push({ path: p, message: `is empty — fill it in${hint ? `: ${hint}` : ''}` });
          continue;
        }
        if (iss.origin === 'array') {
          problems.push({
            path: p,
            message: `is an empty list — list at least one${hint ? `: ${hint}` : ''}`,
          });
          continue;
        }
        break;
    }
    problems.push({ path: p, message: iss.message });
  }
  return { problems };
}

function positioned(doc: Document, lines: LineCounter, file: string, problems: Problem[]): PolicyProblem[] {
  const out = problems.map((pr) => {
    const { line, column } = locate(doc, lines, pr.path, pr.at);
    const where = pr.bare || pr.path.length === 0 ? '' : `${dotted(pr.path as Path)}: `;
    return { file, line, column, message: `${where}${pr.message}` };
  });
  out.sort((a, b) => a.line - b.line || a.column - b.column);
  return out.filter((p, i) => i === 0 || p.message !== out[i - 1].message || p.line !== out[i - 1].line);
}

/**
 * Parses and checks policy text. `file` locates relative paths; `displayName` (default:
 * `file` relative to the working directory) is what the problem lines start with.
 */
export function parsePolicy(text: string, file: string, displayName = displayPath(file)): Policy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true });
  if (doc.errors.length > 0) {
    const seen = new Set<number>();
    const problems: PolicyProblem[] = [];
    for (const err of doc.errors) {
      const { line, col } = lines.linePos(err.pos[0]);
      if (seen.has(line)) continue;
      seen.add(line);
      problems.push({
        file: displayName,
        line,
        column: col,
        message: `${yamlMessage(err)} — ${yamlHint(err)}`,
      });
    }
    throw new PolicyError(problems);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new PolicyError([
      {
        file: displayName,
        line: 1,
        column: 1,
        message: `${(err as Error).message} — check the YAML aliases (*name)`,
      },
    ]);
  }
  if (data === null || data === undefined)
    throw new PolicyError([
      {
        file: displayName,
        line: 1,
        column: 1,
        message: 'the policy file is empty — start from examples/holdfast.yaml',
      },
    ]);
  const { value, problems } = schemaProblems(data);
  if (!value) throw new PolicyError(positioned(doc, lines, displayName, problems));
  const semantic = checkSemantics(value);
  if (semantic.length > 0) throw new PolicyError(positioned(doc, lines, displayName, semantic));
  return resolvePolicy(value, file);
}

/** The path as shown in messages: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), path.resolve(file));
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.resolve(file);
}

/** Reads, checks and resolves a policy file; throws INVALID_POLICY with every problem. */
export async function loadPolicy(file: string): Promise<Policy> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return fail(
      'INVALID_POLICY',
      code === 'ENOENT'
        ? `no policy file at ${displayPath(file)} — create one (start from examples/holdfast.yaml) or name it with --policy`
        : `cannot read the policy file ${displayPath(file)} (${code}) — check its permissions`,
    );
  }
  return parsePolicy(text, file);
}
