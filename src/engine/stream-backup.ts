/**
 * Backup of one byte stream (stdin, a dump command's stdout) as a single file in a snapshot,
 * shaped like `restic backup --stdin` (restic-format.md §11) so that
 * `restic dump latest /NAME` restores it. A special case of streams-backup.ts.
 */
import { fail } from '../errors.js';
import type { BackupResult } from './archiver.js';
import type { Repository } from './repository.js';
import { backupStreams, type StreamsBackupOptions } from './streams-backup.js';

export interface StreamBackupOptions extends Omit<StreamsBackupOptions, 'onStored'> {
  /**
   * Called after the stream ended and its data is stored, before the snapshot is written;
   * throwing here (e.g. because the producing command failed) means no snapshot is written.
   */
  beforeCommit?: () => Promise<void>;
}

/** One stream as the file `/FILENAME`; an empty stream is refused (nothing to restore). */
export async function backupStream(
  repo: Repository,
  source: AsyncIterable<Buffer>,
  filename: string,
  opts: StreamBackupOptions,
): Promise<BackupResult> {
  let size = 0;
  const { beforeCommit, ...rest } = opts;
  return backupStreams(repo, [{ path: filename, open: () => source, beforeCommit }], {
    ...rest,
    onStored: (f) => (size = f.size),
    beforeCommit: async () => {
      if (size === 0)
        fail('SOURCE_FAILED', 'no data read from the stream: refusing to store an empty backup');
    },
  });
}
