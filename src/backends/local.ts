/**
 * Local filesystem backend. Files are written under a temporary name in the same
 * directory, fsynced, renamed and the directory fsynced, so a killed process never leaves a
 * partial file under a final name; stored files are made read-only, as restic does. A file
 * given by path (saveFile) is copied by the kernel, never read into memory.
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { fail, HoldfastError } from '../errors.js';
import {
  type Backend,
  type FileHandle,
  type FileInfo,
  type FileType,
  isId,
  relativePath,
  TYPE_DIRS,
} from './backend.js';
import { permanentError } from './backend-error.js';

function ioError(what: string, err: unknown): HoldfastError {
  const e = err as NodeJS.ErrnoException;
  const hint = e.code === 'ENOSPC' ? ' (the disk is full: free space and retry)' : '';
  return new HoldfastError('BACKEND', `${what}: ${e.message}${hint}`, { cause: err });
}

async function fsyncDir(dir: string): Promise<void> {
  const fd = await fsp.open(dir, fsc.O_RDONLY);
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/** Fills `into` from `offset` of an open file; a file that ends first is a short read. */
async function readFully(h: FileHandle, fd: fsp.FileHandle, into: Uint8Array, offset: number): Promise<void> {
  let got = 0;
  while (got < into.length) {
    const { bytesRead } = await fd.read(into, got, into.length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  if (got < into.length)
    fail('BACKEND', `${relativePath(h)}: short read (${got} of ${into.length} bytes at ${offset})`);
}

export function localBackend(root: string): Backend {
  const abs = path.resolve(root);
  const full = (h: FileHandle) => path.join(abs, relativePath(h));

  async function create(): Promise<void> {
    try {
      await fsp.access(path.join(abs, 'config'));
      fail('REPO_EXISTS', `a repository already exists at ${abs}`);
    } catch (err) {
      if (err instanceof HoldfastError) throw err;
    }
    const dirs = Object.values(TYPE_DIRS).map((d) => path.join(abs, d));
    for (let i = 0; i < 256; i++) dirs.push(path.join(abs, 'data', i.toString(16).padStart(2, '0')));
    try {
      await fsp.mkdir(abs, { recursive: true, mode: 0o700 });
      for (const d of dirs) await fsp.mkdir(d, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw ioError(`cannot create repository at ${abs}`, err);
    }
  }

  /**
   * Stores a file atomically: `fill` creates the temporary file (failing if it exists) with
   * the content, durable on disk; then the rename, the directory's fsync, read-only mode.
   */
  async function store(h: FileHandle, fill: (tmp: string) => Promise<void>): Promise<void> {
    const final = full(h);
    const dir = path.dirname(final);
    const tmp = `${final}-tmp-${randomBytes(8).toString('hex')}`;
    try {
      await fill(tmp).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
        return fill(tmp);
      });
      await fsp.rename(tmp, final);
      await fsyncDir(dir);
      await fsp.chmod(final, 0o400);
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      if (err instanceof HoldfastError) throw err;
      throw ioError(`cannot save ${relativePath(h)}`, err);
    }
  }

  async function save(h: FileHandle, data: Uint8Array): Promise<void> {
    await store(h, async (tmp) => {
      const fd = await fsp.open(tmp, 'wx', 0o600);
      try {
        await fd.writeFile(data);
        await fd.sync();
      } finally {
        await fd.close();
      }
    });
  }

  /**
   * Copies the file in the kernel (libuv: copy_file_range or sendfile; a reflink where the
   * filesystem has them), so the bytes never pass through this process.
   */
  async function saveFile(h: FileHandle, src: string, length: number): Promise<void> {
    await store(h, async (tmp) => {
      await fsp.copyFile(src, tmp, fsc.COPYFILE_EXCL | fsc.COPYFILE_FICLONE);
      const fd = await fsp.open(tmp, 'r');
      try {
        const { size } = await fd.stat();
        if (size !== length)
          throw permanentError(`cannot save ${relativePath(h)}: ${src} holds ${size} bytes, not ${length}`);
        await fd.sync();
      } finally {
        await fd.close();
      }
    });
  }

  /** What a failed read throws: typed errors and ENOENT (isNotFound) as they are, others as IO errors. */
  function loadFailure(h: FileHandle, err: unknown): unknown {
    if (err instanceof HoldfastError) return err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return err;
    return ioError(`cannot load ${relativePath(h)}`, err);
  }

  async function load(h: FileHandle, offset = 0, length?: number): Promise<Buffer> {
    const file = full(h);
    let fd: fsp.FileHandle | undefined;
    try {
      fd = await fsp.open(file, 'r');
      const size = (await fd.stat()).size;
      const want = length === undefined ? Math.max(0, size - offset) : length;
      const buf = Buffer.allocUnsafe(want);
      await readFully(h, fd, buf, offset);
      return buf;
    } catch (err) {
      throw loadFailure(h, err);
    } finally {
      await fd?.close();
    }
  }

  async function loadInto(h: FileHandle, offset: number, into: Uint8Array): Promise<void> {
    let fd: fsp.FileHandle | undefined;
    try {
      fd = await fsp.open(full(h), 'r');
      await readFully(h, fd, into, offset);
    } catch (err) {
      throw loadFailure(h, err);
    } finally {
      await fd?.close();
    }
  }

  async function stat(h: FileHandle): Promise<FileInfo> {
    const st = await fsp.stat(full(h));
    return { name: h.name, size: st.size };
  }

  async function listDir(dir: string): Promise<FileInfo[]> {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError(`cannot list ${dir}`, err);
    }
    const out: FileInfo[] = [];
    for (const name of names.filter(isId)) {
      const st = await fsp.stat(path.join(dir, name)).catch(() => undefined);
      if (st?.isFile()) out.push({ name, size: st.size });
    }
    return out;
  }

  async function list(type: FileType): Promise<FileInfo[]> {
    if (type === 'config') return [];
    const dir = path.join(abs, TYPE_DIRS[type]);
    if (type !== 'pack') return listDir(dir);
    let subs: string[];
    try {
      subs = await fsp.readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError(`cannot list ${dir}`, err);
    }
    const all = await Promise.all(
      subs.filter((s) => /^[0-9a-f]{2}$/.test(s)).map((s) => listDir(path.join(dir, s))),
    );
    return all.flat();
  }

  async function remove(h: FileHandle): Promise<void> {
    try {
      await fsp.rm(full(h));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
      throw ioError(`cannot remove ${relativePath(h)}`, err);
    }
  }

  return {
    location: abs,
    create,
    save,
    saveFile,
    load,
    loadInto,
    localPath: full,
    stat,
    list,
    remove,
    isNotFound: (err) => (err as NodeJS.ErrnoException)?.code === 'ENOENT',
    close: async () => undefined,
  };
}
