/**
 * Snapshot documents (the plaintext of `snapshots/<id>`), encoded exactly as restic's
 * json.Marshal of its Snapshot struct: Go field order, omitempty rules, no trailing newline.
 * Decoding follows Go's encoding/json: case-insensitive field names, unknown fields ignored,
 * null leaves a field at its zero value. Encryption and compression are the caller's business.
 */
import { fail } from '../errors.js';
import { goJsonString, isGoId, isJsonObject, matchField, parseJsonLossless } from './gojson.js';
import { GO_ZERO_TIME, normalizeGoTime } from './gotime.js';

export interface Snapshot {
  time: string;
  parent?: string;
  tree: string;
  paths: string[];
  hostname?: string;
  username?: string;
  uid?: number;
  gid?: number;
  excludes?: string[];
  tags?: string[];
  original?: string;
  programVersion?: string;
  /** [≥0.17] backup statistics; keys are the JSON names (`backup_start`, `files_new`, …). */
  summary?: Record<string, unknown>;
}

/** Summary fields in restic's order; the first two are times, the rest integers. */
export const SUMMARY_FIELDS = [
  'backup_start',
  'backup_end',
  'files_new',
  'files_changed',
  'files_unmodified',
  'dirs_new',
  'dirs_changed',
  'dirs_unmodified',
  'data_blobs',
  'tree_blobs',
  'data_added',
  'data_added_packed',
  'total_files_processed',
  'total_bytes_processed',
] as const;

const SUMMARY_TIMES = new Set(['backup_start', 'backup_end']);

function stringList(list: readonly string[]): string {
  return `[${list.map(goJsonString).join(',')}]`;
}

function encodeSummary(summary: Record<string, unknown>): string {
  const parts = SUMMARY_FIELDS.map((f) => {
    const v = summary[f];
    if (SUMMARY_TIMES.has(f)) {
      if (v !== undefined && v !== null && typeof v !== 'string')
        fail('INVALID_ARGUMENT', `summary.${f} must be a time string`);
      return `"${f}":${goJsonString(v || GO_ZERO_TIME)}`;
    }
    if (v === undefined || v === null) return `"${f}":0`;
    if ((typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint')
      return `"${f}":${v.toString()}`;
    return fail('INVALID_ARGUMENT', `summary.${f} must be an integer`);
  });
  return `{${parts.join(',')}}`;
}

/** The snapshot JSON restic writes (no trailing newline). */
export function encodeSnapshot(s: Snapshot): Buffer {
  let out = `{"time":${goJsonString(s.time || GO_ZERO_TIME)}`;
  if (s.parent) out += `,"parent":"${s.parent}"`;
  out += `,"tree":"${s.tree}","paths":${stringList(s.paths)}`;
  if (s.hostname) out += `,"hostname":${goJsonString(s.hostname)}`;
  if (s.username) out += `,"username":${goJsonString(s.username)}`;
  if (s.uid) out += `,"uid":${s.uid >>> 0}`;
  if (s.gid) out += `,"gid":${s.gid >>> 0}`;
  if (s.excludes && s.excludes.length > 0) out += `,"excludes":${stringList(s.excludes)}`;
  if (s.tags && s.tags.length > 0) out += `,"tags":${stringList(s.tags)}`;
  if (s.original) out += `,"original":"${s.original}"`;
  if (s.programVersion) out += `,"program_version":${goJsonString(s.programVersion)}`;
  if (s.summary) out += `,"summary":${encodeSummary(s.summary)}`;
  return Buffer.from(out + '}', 'utf8');
}

const FIELDS = new Set([
  'time',
  'parent',
  'tree',
  'paths',
  'hostname',
  'username',
  'uid',
  'gid',
  'excludes',
  'tags',
  'original',
  'program_version',
  'summary',
]);
const SUMMARY_SET: ReadonlySet<string> = new Set(SUMMARY_FIELDS);

function invalid(field: string, v: unknown): never {
  return fail('INTEGRITY', `snapshot field "${field}" has an invalid value ${String(v)}`);
}

function asString(field: string, v: unknown): string {
  return typeof v === 'string' ? v : invalid(field, v);
}

function asId(field: string, v: unknown): string {
  return typeof v === 'string' && isGoId(v) ? v.toLowerCase() : invalid(field, v);
}

function asU32(field: string, v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : invalid(field, v);
}

function asStrings(field: string, v: unknown): string[] {
  if (!Array.isArray(v)) return invalid(field, v);
  return v.map((x) => (x === null ? '' : asString(field, x)));
}

function decodeSummary(v: unknown): Record<string, unknown> {
  if (!isJsonObject(v)) return invalid('summary', v);
  const out: Record<string, unknown> = {};
  for (const [key, val] of Object.entries(v)) {
    const f = matchField(key, SUMMARY_SET);
    if (f === undefined || val === null) continue;
    if (SUMMARY_TIMES.has(f)) out[f] = normalizeGoTime(asString(`summary.${f}`, val));
    else if ((typeof val === 'number' && Number.isInteger(val)) || typeof val === 'bigint') out[f] = val;
    else invalid(`summary.${f}`, val);
  }
  return out;
}

/** Decodes a snapshot's JSON plaintext. A snapshot without a tree is malformed. */
export function decodeSnapshot(plaintext: Uint8Array): Snapshot {
  const doc = parseJsonLossless(plaintext);
  if (!isJsonObject(doc)) return fail('INTEGRITY', 'snapshot is not a JSON object');
  const s: Snapshot = { time: GO_ZERO_TIME, tree: '', paths: [] };
  for (const [key, val] of Object.entries(doc)) {
    const f = matchField(key, FIELDS);
    if (f === undefined) continue;
    if (val === null) {
      if (f === 'parent' || f === 'original' || f === 'excludes' || f === 'tags' || f === 'summary')
        delete s[f];
      else if (f === 'tree') s.tree = '';
      else if (f === 'paths') s.paths = [];
      continue;
    }
    switch (f) {
      case 'time':
        s.time = normalizeGoTime(asString(f, val));
        break;
      case 'parent':
      case 'tree':
      case 'original':
        s[f] = asId(f, val);
        break;
      case 'paths':
        s.paths = asStrings(f, val);
        break;
      case 'excludes':
      case 'tags':
        s[f] = asStrings(f, val);
        break;
      case 'hostname':
      case 'username':
        s[f] = asString(f, val);
        break;
      case 'program_version':
        s.programVersion = asString(f, val);
        break;
      case 'uid':
      case 'gid':
        s[f] = asU32(f, val);
        break;
      case 'summary':
        s.summary = decodeSummary(val);
        break;
    }
  }
  if (!s.tree) fail('INTEGRITY', 'snapshot has no tree');
  return s;
}
