/**
 * `holdfast init`: create a repository (restic format v2). With `--copy-chunker-params` the
 * chunker polynomial comes from another repository (`--from-repo`, or restic's older
 * `--repo2`), so that snapshots copied between the two deduplicate.
 */
import type { Command } from 'commander';
import { initRepo } from '../../app/repository-admin.js';
import { redactUrl } from '../../backends/redact.js';
import { fail } from '../../errors.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { makeOutput } from '../output.js';
import { addSecondaryOptions, type SecondaryFlags, secondaryRepo } from '../secondary-repo.js';

export function registerInit(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('init')
    .description('create a new repository')
    .option('--copy-chunker-params', 'use the chunker polynomial of --from-repo so copies deduplicate');
  addSecondaryOptions(
    cmd,
    'repository to copy chunker parameters from (with --copy-chunker-params)',
    'same as --from-repo',
  );
  cmd.action(async (flags: SecondaryFlags & { copyChunkerParams?: boolean }) => {
    const g = globals();
    const out = makeOutput(g);
    const ref = repoRef(g);
    let from;
    if (flags.copyChunkerParams) {
      from = secondaryRepo(flags, g)?.ref;
      if (!from) fail('NO_REPOSITORY', '--copy-chunker-params needs the other repository: give --from-repo');
    }
    const config = await initRepo(ref, from);
    out.emit({ message_type: 'initialized', id: config.id, repository: redactUrl(ref.url) });
    out.info(`created holdfast repository ${config.id.slice(0, 10)} at ${redactUrl(ref.url)}`);
    out.info('Please note that knowledge of your password is required to access the repository.');
    out.info('Losing your password means that your data is irrecoverably lost.');
  });
}
