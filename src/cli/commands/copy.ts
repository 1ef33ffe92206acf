/**
 * `holdfast copy [snapshotID...]`: copy snapshots to or from another repository, with
 * restic 0.14's options: `--repo SRC --repo2 DEST --password-file2 F`, or
 * `--repo DEST --from-repo SRC --from-password-file F`.
 */
import type { Command } from 'commander';
import { copyToRepo } from '../../app/copy.js';
import { redactUrl } from '../../backends/redact.js';
import type { CopyProgress } from '../../engine/copy.js';
import { fail } from '../../errors.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { formatBytes, makeOutput } from '../output.js';
import { addSecondaryOptions, type SecondaryFlags, secondaryRepo } from '../secondary-repo.js';

const collect = (v: string, acc: string[]) => [...acc, v];

interface CopyFlags extends SecondaryFlags {
  host: string[];
  tag: string[];
  path: string[];
}

export function registerCopy(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('copy')
    .description('copy snapshots from one repository to another (blobs are re-encrypted)')
    .argument('[snapshotID...]', 'snapshots to copy (IDs, prefixes or "latest"); default: all matching')
    .option('-H, --host <host>', 'only snapshots of this host, when no ID is given (repeatable)', collect, [])
    .option('--tag <tags>', 'only snapshots with these tags, when no ID is given (repeatable)', collect, [])
    .option(
      '--path <path>',
      'only snapshots containing this path, when no ID is given (repeatable)',
      collect,
      [],
    );
  addSecondaryOptions(cmd, 'source repository; --repo is the destination', 'destination repository');
  cmd.action(async (ids: string[], flags: CopyFlags) => {
    const g = globals();
    const out = makeOutput(g);
    const primary = repoRef(g);
    const second = secondaryRepo(flags, g);
    if (!second)
      fail(
        'NO_REPOSITORY',
        'no second repository given: use --repo2 DEST (or --from-repo SRC with --repo DEST)',
      );
    const [source, destination] = second.isFromRepo ? [second.ref, primary] : [primary, second.ref];
    let last: CopyProgress = { snapshotsDone: 0, snapshotsTotal: 0, blobsCopied: 0, bytesCopied: 0 };
    const stop = out.progress(
      () =>
        `[copy] ${last.snapshotsDone}/${last.snapshotsTotal} snapshots, ${last.blobsCopied} blobs, ${formatBytes(last.bytesCopied)}`,
    );
    let result;
    try {
      result = await copyToRepo(
        {
          source,
          destination,
          snapshots: ids,
          filter: { hosts: flags.host, tags: flags.tag, paths: flags.path },
        },
        (p) => (last = p),
      );
    } finally {
      stop();
    }
    const copied = result.snapshots.filter((s) => s.newId);
    for (const s of result.snapshots) {
      if (s.newId) out.info(`snapshot ${s.sourceId.slice(0, 8)} copied to snapshot ${s.newId.slice(0, 8)}`);
      else
        out.info(
          `snapshot ${s.sourceId.slice(0, 8)} skipped: already copied to snapshot ${s.existingId?.slice(0, 8)}`,
        );
    }
    out.info(
      `copied ${copied.length} snapshots (${result.snapshots.length - copied.length} already present): ` +
        `${result.blobsCopied} blobs, ${formatBytes(result.bytesCopied)} added`,
    );
    out.emit({
      message_type: 'summary',
      source: redactUrl(source.url),
      destination: redactUrl(destination.url),
      snapshots_copied: copied.length,
      snapshots_skipped: result.snapshots.length - copied.length,
      blobs_copied: result.blobsCopied,
      bytes_copied: result.bytesCopied,
      snapshots: result.snapshots.map((s) => ({
        source_id: s.sourceId,
        ...(s.newId ? { copy_id: s.newId } : { existing_id: s.existingId }),
      })),
    });
  });
}
