/** `holdfast init`: create a repository (restic format v2). */
import type { Command } from 'commander';
import { initRepo } from '../../app/repository-admin.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { makeOutput } from '../output.js';

export function registerInit(program: Command, globals: () => GlobalOptions): void {
  program
    .command('init')
    .description('create a new repository')
    .option('--from-repo <url>', 'repository to copy chunker parameters from (with --copy-chunker-params)')
    .option('--from-password-file <file>', 'password file of --from-repo')
    .option('--copy-chunker-params', 'use the chunker polynomial of --from-repo so copies deduplicate')
    .action(async (flags: { fromRepo?: string; fromPasswordFile?: string; copyChunkerParams?: boolean }) => {
      const g = globals();
      const out = makeOutput(g);
      const ref = repoRef(g);
      const from =
        flags.copyChunkerParams && flags.fromRepo
          ? repoRef({ ...g, repo: flags.fromRepo, passwordFile: flags.fromPasswordFile ?? g.passwordFile })
          : undefined;
      const config = await initRepo(ref, from);
      out.emit({ message_type: 'initialized', id: config.id, repository: ref.url });
      out.info(`created holdfast repository ${config.id.slice(0, 10)} at ${ref.url}`);
      out.info('Please note that knowledge of your password is required to access the repository.');
      out.info('Losing your password means that your data is irrecoverably lost.');
    });
}
