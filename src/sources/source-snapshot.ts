/**
 * What every source snapshot shares: its tags (`holdfast`, `source:<type>`, `asset:<name>`),
 * the small `/holdfast-source.json` manifest that says what the snapshot holds (server
 * version, databases, each file's size and SHA-256; never a URL or a password), storing a
 * source's streams with that manifest, and reading stored files back for a restore.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BackupCounters, BackupResult, SnapshotMeta } from '../engine/archiver.js';
import type { TreeNode } from '../engine/node.js';
import type { Repository } from '../engine/repository.js';
import type { StoredSnapshot } from '../engine/snapshots.js';
import { backupStreams, type StreamEntry } from '../engine/streams-backup.js';
import { findNode, rootNode } from '../engine/walker.js';
import { loadTree } from '../engine/tree-io.js';
import { fail, isHoldfastError } from '../errors.js';

export type SourceType = 'postgres' | 'mysql' | 'redis' | 'git' | 'files' | 'command' | 's3';

export const SOURCE_TYPES: readonly SourceType[] = [
  'postgres',
  'mysql',
  'redis',
  'git',
  'files',
  'command',
  's3',
];

export const MANIFEST_PATH = '/holdfast-source.json';
export const MANIFEST_FORMAT = 'holdfast-source/1';

/** Snapshot metadata for a source backup: host, tags and the asset name from the policy. */
export interface SourceMeta extends SnapshotMeta {
  /** Asset name (policy key); recorded as tag `asset:<name>` and in the manifest. */
  asset?: string;
  counters?: BackupCounters;
  /** Unreadable files of a files source (the backup goes on, see BackupResult.warnings). */
  onWarning?: (path: string, message: string) => void;
  /** Aborting stops the dump (its tools are killed) and no snapshot is written. */
  signal?: AbortSignal;
}

export interface ManifestFile {
  path: string;
  /** What the file is: a database dump, the globals, an RDB, a bundle, a command's output. */
  role: 'database' | 'globals' | 'rdb' | 'bundle' | 'output';
  database?: string;
  size: number;
  sha256: string;
}

export interface SourceManifest {
  format: typeof MANIFEST_FORMAT;
  type: SourceType;
  asset?: string;
  /** Version line of the dump tool, e.g. "pg_dump (PostgreSQL) 15.20". */
  tool?: string;
  serverVersion?: string;
  databases?: string[];
  files: ManifestFile[];
  startedAt: string;
  finishedAt: string;
  /** Source-specific facts (e.g. a Git repository's ref count); never secrets. */
  details?: Record<string, unknown>;
}

export type ManifestInfo = Pick<SourceManifest, 'tool' | 'serverVersion' | 'databases' | 'details'>;

/** A stream of a source: where it goes in the snapshot and what it is. */
export interface SourceStream extends StreamEntry {
  role: ManifestFile['role'];
  database?: string;
}

export interface SourceRestoreResult {
  type: SourceType;
  /** What was restored where (no secrets), one line each. */
  restored: string[];
  /** Steps left to the user, e.g. loading an RDB file into a running Redis. */
  notes: string[];
}

/** `holdfast`, `source:<type>`, `asset:<name>` and the caller's tags, without duplicates. */
export function sourceTags(type: SourceType, meta: Pick<SourceMeta, 'asset' | 'tags'>): string[] {
  const tags = ['holdfast', `source:${type}`];
  if (meta.asset) tags.push(`asset:${meta.asset}`);
  return [...new Set([...tags, ...(meta.tags ?? [])])];
}

/** Fails with INTERRUPTED when `signal` was aborted. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const why = signal.reason instanceof Error ? `: ${signal.reason.message}` : '';
    fail('INTERRUPTED', `the backup was interrupted${why}; no snapshot was written`);
  }
}

async function* measured(
  source: AsyncIterable<Buffer>,
  file: ManifestFile,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  const it = source[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      checkAborted(signal);
      const r = await Promise.race([it.next(), aborted]).catch((err: unknown) => {
        checkAborted(signal);
        throw err;
      });
      if (r.done) break;
      hash.update(r.value);
      file.size += r.value.length;
      yield r.value;
    }
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    await it.return?.()?.catch(() => undefined);
  }
  file.sha256 = hash.digest('hex');
}

/**
 * Stores `streams` (opened one after another) and then the manifest as one snapshot tagged
 * for the source. `info` is called after the last stream is stored, so it may report what
 * was learnt while dumping. Any failure: no snapshot.
 */
export async function backupSourceStreams(
  repo: Repository,
  type: SourceType,
  meta: SourceMeta,
  streams: readonly SourceStream[],
  info: () => ManifestInfo = () => ({}),
): Promise<BackupResult> {
  const startedAt = new Date().toISOString();
  const files: ManifestFile[] = [];
  const entries: StreamEntry[] = streams.map((s) => ({
    path: s.path,
    open: async () => {
      const file: ManifestFile = { path: s.path, role: s.role, size: 0, sha256: '' };
      if (s.database !== undefined) file.database = s.database;
      files.push(file);
      checkAborted(meta.signal);
      return measured(await s.open(), file, meta.signal);
    },
    beforeCommit: s.beforeCommit,
  }));
  entries.push({
    path: MANIFEST_PATH,
    open: async function* () {
      const manifest: SourceManifest = {
        format: MANIFEST_FORMAT,
        type,
        ...(meta.asset ? { asset: meta.asset } : {}),
        ...info(),
        files,
        startedAt,
        finishedAt: new Date().toISOString(),
      };
      yield Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
    },
  });
  const { onWarning: _w, asset: _a, signal, ...snapMeta } = meta;
  return backupStreams(repo, entries, {
    ...snapMeta,
    tags: sourceTags(type, meta),
    beforeCommit: async () => checkAborted(signal),
  });
}

async function nodeAt(repo: Repository, snap: StoredSnapshot, p: string): Promise<TreeNode> {
  return findNode(repo, rootNode(snap.snapshot.tree, snap.snapshot.time), p);
}

/** The snapshot's manifest, or undefined when it has none (a files snapshot, a plain backup). */
export async function readManifest(
  repo: Repository,
  snap: StoredSnapshot,
): Promise<SourceManifest | undefined> {
  let node: TreeNode;
  try {
    node = await nodeAt(repo, snap, MANIFEST_PATH);
  } catch (err) {
    if (isHoldfastError(err, 'NOT_FOUND')) return undefined;
    throw err;
  }
  const chunks: Buffer[] = [];
  for await (const b of fileChunks(repo, node)) chunks.push(b);
  let m: SourceManifest;
  try {
    m = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SourceManifest;
  } catch {
    return fail('INTEGRITY', `${MANIFEST_PATH} in snapshot ${snap.id.slice(0, 8)} is not valid JSON`);
  }
  if (m.format !== MANIFEST_FORMAT || !SOURCE_TYPES.includes(m.type))
    fail('INVALID_ARGUMENT', `${MANIFEST_PATH} in snapshot ${snap.id.slice(0, 8)} has an unknown format`);
  return m;
}

/** The source kind of a snapshot: from its manifest, else from its `source:<type>` tag. */
export async function sourceTypeOf(repo: Repository, snap: StoredSnapshot): Promise<SourceType> {
  const m = await readManifest(repo, snap);
  if (m) return m.type;
  for (const t of snap.snapshot.tags ?? []) {
    const type = t.startsWith('source:') ? (t.slice(7) as SourceType) : undefined;
    if (type && SOURCE_TYPES.includes(type)) return type;
  }
  return fail(
    'INVALID_ARGUMENT',
    `snapshot ${snap.id.slice(0, 8)} was not made by a holdfast source (no ${MANIFEST_PATH}, no source: tag): use restore`,
  );
}

/** The content of a file node, blob by blob (each verified against its ID). */
export async function* fileChunks(repo: Repository, node: TreeNode): AsyncGenerator<Buffer> {
  if (node.type !== 'file') fail('INVALID_ARGUMENT', `${node.name.toString('utf8')} is not a file`);
  for (const id of node.content ?? []) yield await repo.loadBlob('data', id);
}

/** The content of the file at `p` inside the snapshot. */
export async function snapshotFile(
  repo: Repository,
  snap: StoredSnapshot,
  p: string,
): Promise<AsyncGenerator<Buffer>> {
  return fileChunks(repo, await nodeAt(repo, snap, p));
}

/** Writes the file at `p` inside the snapshot to `dest` (mode 0600); returns its size. */
export async function writeSnapshotFile(
  repo: Repository,
  snap: StoredSnapshot,
  p: string,
  dest: string,
): Promise<number> {
  let size = 0;
  const chunks = await snapshotFile(repo, snap, p);
  await pipeline(
    Readable.from(
      (async function* () {
        for await (const b of chunks) {
          size += b.length;
          yield b;
        }
      })(),
    ),
    createWriteStream(dest, { mode: 0o600 }),
  );
  return size;
}

/** Writes every file directly inside the snapshot directory `dir` into the directory `into`. */
export async function restoreSnapshotFiles(
  repo: Repository,
  snap: StoredSnapshot,
  dir: string,
  into: string,
): Promise<SourceRestoreResult> {
  const node = await nodeAt(repo, snap, dir);
  if (node.type !== 'dir' || !node.subtree) fail('NOT_FOUND', `${dir} is not a directory in the snapshot`);
  await fsp.mkdir(into, { recursive: true, mode: 0o700 });
  const restored: string[] = [];
  for (const child of await loadTree(repo, node.subtree)) {
    if (child.type !== 'file') continue;
    const name = child.name.toString('utf8');
    const dest = path.join(into, name);
    await writeSnapshotFile(repo, snap, `${dir}/${name}`, dest);
    restored.push(`${dir}/${name} -> ${dest}`);
  }
  return { type: await sourceTypeOf(repo, snap), restored, notes: [] };
}

/** The database dumps of a database snapshot to restore: all, or the one named; checked against `target`. */
export async function chooseDumps(
  repo: Repository,
  snap: StoredSnapshot,
  type: SourceType,
  opts: { database?: string; target?: string },
): Promise<{ manifest: SourceManifest; chosen: ManifestFile[] }> {
  const manifest = await readManifest(repo, snap);
  if (manifest?.type !== type)
    fail('INVALID_ARGUMENT', `snapshot ${snap.id.slice(0, 8)} is not a ${type} backup`);
  const dumps = manifest.files.filter((f) => f.role === 'database');
  const chosen = opts.database ? dumps.filter((f) => f.database === opts.database) : dumps;
  if (chosen.length === 0)
    fail(
      'NOT_FOUND',
      `snapshot ${snap.id.slice(0, 8)} holds no dump of database "${opts.database}"; it holds: ${dumps.map((f) => f.database).join(', ')}`,
    );
  if (chosen.length > 1 && opts.target)
    fail(
      'INVALID_ARGUMENT',
      `the snapshot holds ${chosen.length} databases: choose one to restore under a new name`,
    );
  return { manifest, chosen };
}
