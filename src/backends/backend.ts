/**
 * The small interface every storage backend implements (restic's backend model): save a
 * whole file (or, optionally, copy one from a local file), load a byte range, stat, list and
 * remove, plus a way to tell "not found" from other failures. Behaviour such as retries or
 * limits is added by wrapping a Backend.
 */

export type FileType = 'config' | 'key' | 'lock' | 'snapshot' | 'index' | 'pack';

export const FILE_TYPES: readonly FileType[] = ['config', 'key', 'lock', 'snapshot', 'index', 'pack'];

export interface FileHandle {
  type: FileType;
  /** 64 hex characters for everything but `config`, whose name is ignored. */
  name: string;
}

export interface FileInfo {
  name: string;
  size: number;
}

export interface Backend {
  /** Where the repository lives, safe to print (no credentials). */
  readonly location: string;
  /** Creates the directory skeleton of a new repository; fails when a config exists. */
  create(): Promise<void>;
  /** Stores `data` under `h` atomically: a reader never sees a partial file. */
  save(h: FileHandle, data: Uint8Array): Promise<void>;
  /**
   * Optional: stores under `h`, as save does (atomically), the content of the local file at
   * `path`, which holds exactly `length` bytes (/proc/self/fd/N names a file without a name).
   * Offered by backends that can copy a file without reading it into memory (local: a copy in
   * the kernel); callers without it read the file and call save. The caller keeps the file
   * open and unchanged until the returned promise settles; the implementation opens it first.
   * A file that does not hold `length` bytes is refused and nothing is stored. Decorators
   * forward it with everything they add to save (limits count `length` bytes), and leave it
   * undefined when the inner backend has none.
   */
  saveFile?(h: FileHandle, path: string, length: number): Promise<void>;
  /** Loads `length` bytes at `offset` (all remaining bytes when length is undefined). */
  load(h: FileHandle, offset?: number, length?: number): Promise<Buffer>;
  /**
   * Reads exactly `into.length` bytes at `offset` into `into` (a short read fails as load's
   * does), so that a caller can reuse its memory. Absent = only load; decorators forward it
   * when their inner backend has it.
   */
  loadInto?(h: FileHandle, offset: number, into: Uint8Array): Promise<void>;
  /**
   * The file's path on this machine, for a reader on another thread (check --read-data reads
   * whole local packs on the workers). Absent for remote backends; decorators forward it.
   */
  localPath?(h: FileHandle): string;
  stat(h: FileHandle): Promise<FileInfo>;
  /** Lists files of a type whose names are valid IDs (temporary files are invisible). */
  list(type: FileType): Promise<FileInfo[]>;
  remove(h: FileHandle): Promise<void>;
  isNotFound(err: unknown): boolean;
  /** True for errors a retry cannot fix (bad credentials, refused by policy); absent = guess. */
  isPermanent?(err: unknown): boolean;
  /** False when files of this type can never be removed (append-only); absent = true. */
  canDelete?(type: FileType): Promise<boolean>;
  /**
   * Until when the file is under retention (S3 Object Lock) and cannot be removed;
   * undefined when it can be removed now. Absent = no retention. Decorators forward it.
   */
  retainedUntil?(h: FileHandle): Promise<Date | undefined>;
  close(): Promise<void>;
}

const ID_RE = /^[0-9a-f]{64}$/;

export function isId(name: string): boolean {
  return ID_RE.test(name);
}

/** Relative path of a file in restic's layout (restic-format.md §1). */
export function relativePath(h: FileHandle): string {
  switch (h.type) {
    case 'config':
      return 'config';
    case 'key':
      return `keys/${h.name}`;
    case 'lock':
      return `locks/${h.name}`;
    case 'snapshot':
      return `snapshots/${h.name}`;
    case 'index':
      return `index/${h.name}`;
    case 'pack':
      return `data/${h.name.slice(0, 2)}/${h.name}`;
  }
}

export const TYPE_DIRS: Record<Exclude<FileType, 'config'>, string> = {
  key: 'keys',
  lock: 'locks',
  snapshot: 'snapshots',
  index: 'index',
  pack: 'data',
};
