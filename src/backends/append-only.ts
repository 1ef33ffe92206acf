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
  async function save(h: FileHandle, data: Uint8Array): Promise<void> {
    if (h.type !== 'lock') {
      // Content-named files never change: an existing one is kept, never replaced.
      const existing = await inner.stat(h).catch((err: unknown) => {
        if (inner.isNotFound(err)) return undefined;
        throw err;
      });
      if (existing && existing.size === data.length && h.type !== 'config') return;
      if (existing)
        throw new HoldfastError(
          'APPEND_ONLY',
          `the repository at ${inner.location} is append-only: ${relativePath(h)} exists and cannot be replaced`,
        );
    }
    await inner.save(h, data);
  }

  return {
    location: inner.location,
    create: () => inner.create(),
    save,
    load: (h, offset, length) => inner.load(h, offset, length),
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
