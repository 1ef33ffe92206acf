/**
 * Append-only guard, holdfast's own `--append-only` for repositories whose server does not
 * enforce it (a local directory, sftp): nothing is removed or overwritten except lock files,
 * which restic's append-only REST server lets clients delete too. A refused remove is an
 * APPEND_ONLY error, so forget and prune stop before changing anything.
 */
import { HoldfastError } from '../errors.js';
import { type Backend, type FileHandle, type FileType, relativePath } from './backend.js';

export function appendOnlyError(location: string, h: FileHandle): HoldfastError {
  return new HoldfastError(
    'APPEND_ONLY',
    `the repository at ${location} is append-only: removing ${relativePath(h)} is not allowed ` +
      '(backups still work; forget and prune must run where deletes are allowed)',
  );
}

export function appendOnlyBackend(inner: Backend): Backend {
  /** False when the file exists and is kept; throws when it exists and would change. */
  async function mayStore(h: FileHandle, length: number): Promise<boolean> {
    if (h.type === 'lock') return true;
    // Content-named files never change: an existing one is kept, never replaced.
    const existing = await inner.stat(h).catch((err: unknown) => {
      if (inner.isNotFound(err)) return undefined;
      throw err;
    });
    if (existing && existing.size === length && h.type !== 'config') return false;
    if (existing)
      throw new HoldfastError(
        'APPEND_ONLY',
        `the repository at ${inner.location} is append-only: ${relativePath(h)} exists and cannot be replaced`,
      );
    return true;
  }

  async function save(h: FileHandle, data: Uint8Array): Promise<void> {
    if (await mayStore(h, data.length)) await inner.save(h, data);
  }

  return {
    location: inner.location,
    create: () => inner.create(),
    save,
    saveFile: inner.saveFile
      ? async (h, file, length) => {
          if (await mayStore(h, length)) await inner.saveFile!(h, file, length);
        }
      : undefined,
    load: (h, offset, length) => inner.load(h, offset, length),
    localPath: inner.localPath ? (h) => inner.localPath!(h) : undefined,
    loadInto: inner.loadInto ? (h, offset, into) => inner.loadInto!(h, offset, into) : undefined,
    stat: (h) => inner.stat(h),
    list: (type) => inner.list(type),
    async remove(h) {
      if (h.type !== 'lock') throw appendOnlyError(inner.location, h);
      await inner.remove(h);
    },
    isNotFound: (err) => inner.isNotFound(err),
    isPermanent: inner.isPermanent ? (err) => inner.isPermanent!(err) : undefined,
    canDelete: async (type: FileType) => type === 'lock' && (inner.canDelete ? inner.canDelete(type) : true),
    retainedUntil: inner.retainedUntil ? (h) => inner.retainedUntil!(h) : undefined,
    close: () => inner.close(),
  };
}
