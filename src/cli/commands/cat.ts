/** `holdfast cat config|snapshot|index|lock|key|blob|tree ID`: print repository objects. */
import type { Command } from 'commander';
import { resolveNode } from '../../app/snapshot-ref.js';
import { withRepo } from '../../app/session.js';
import { formatPolynomial } from '../../engine/polynomial.js';
import { fail } from '../../errors.js';
import { type GlobalOptions, repoRef } from '../global-options.js';

const TYPES = ['config', 'snapshot', 'index', 'lock', 'key', 'blob', 'tree'] as const;

export function registerCat(program: Command, globals: () => GlobalOptions): void {
  program
    .command('cat')
    .description(`print an object of the repository (${TYPES.join('|')})`)
    .argument('<type>', TYPES.join('|'))
    .argument('[id]', 'object ID or a unique prefix of it (snapshot ID[:PATH] for tree)')
    .action(async (type: string, id: string | undefined) => {
      if (!(TYPES as readonly string[]).includes(type))
        fail('INVALID_ARGUMENT', `cannot cat "${type}": use one of ${TYPES.join(', ')}`);
      if (type !== 'config' && !id) fail('INVALID_ARGUMENT', `cat ${type} needs an ID`);
      const ident = id ?? '';
      await withRepo(repoRef(globals()), 'none', type === 'blob' || type === 'tree', async (repo) => {
        let out: Buffer;
        switch (type) {
          case 'config':
            out = Buffer.from(
              JSON.stringify(
                {
                  version: repo.config.version,
                  id: repo.config.id,
                  chunker_polynomial: formatPolynomial(repo.config.chunkerPolynomial),
                },
                null,
                2,
              ) + '\n',
            );
            break;
          case 'key':
            out = await repo.backend.load({ type: 'key', name: await repo.findFileId('key', ident) });
            break;
          case 'blob': {
            const isTree = repo.hasBlob('tree', ident);
            if (!isTree && !repo.hasBlob('data', ident))
              fail('NOT_FOUND', `blob ${ident} not found in the index`);
            out = await repo.loadBlob(isTree ? 'tree' : 'data', ident);
            break;
          }
          case 'tree': {
            const { node } = await resolveNode(repo, ident);
            if (!node.subtree) fail('INVALID_ARGUMENT', `${ident} is not a directory`);
            out = await repo.loadBlob('tree', node.subtree);
            break;
          }
          default: {
            const fileType = type as 'snapshot' | 'index' | 'lock';
            out = await repo.loadFile(fileType, await repo.findFileId(fileType, ident));
          }
        }
        process.stdout.write(out);
      });
    });
}
