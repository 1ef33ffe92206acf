/** `holdfast ls ID [PATH]`: list the nodes of a snapshot, recursively. */
import type { Command } from 'commander';
import { resolveNode } from '../../app/snapshot-ref.js';
import { withRepo } from '../../app/session.js';
import type { TreeNode } from '../../engine/node.js';
import { walkTree } from '../../engine/walker.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { makeOutput } from '../output.js';
import { snapshotJson } from '../snapshot-json.js';

function modeString(n: TreeNode): string {
  const t = {
    dir: 'd',
    symlink: 'L',
    dev: 'D',
    chardev: 'c',
    fifo: 'p',
    socket: 'S',
    file: '-',
    irregular: '?',
  }[n.type];
  const rwx = (b: number) => `${b & 4 ? 'r' : '-'}${b & 2 ? 'w' : '-'}${b & 1 ? 'x' : '-'}`;
  return t + rwx((n.mode >> 6) & 7) + rwx((n.mode >> 3) & 7) + rwx(n.mode & 7);
}

export function registerLs(program: Command, globals: () => GlobalOptions): void {
  program
    .command('ls')
    .description('list files in a snapshot')
    .argument('<snapshot>', 'snapshot ID or "latest"')
    .argument('[path]', 'only list this directory and what is below it', '/')
    .option('-l, --long', 'show mode, owner, size and time')
    .action(async (ref: string, dir: string, flags: { long?: boolean }) => {
      const g = globals();
      const out = makeOutput(g);
      await withRepo(repoRef(g), 'none', true, async (repo) => {
        const { snap, node } = await resolveNode(repo, ref, {}, dir);
        if (out.json) out.emit({ ...snapshotJson(snap), struct_type: 'snapshot' });
        else
          out.info(
            `snapshot ${snap.id.slice(0, 8)} of [${snap.snapshot.paths.join(' ')}] at ${snap.snapshot.time}:`,
          );
        const prefix = Buffer.from(dir === '/' ? '' : dir.replace(/\/+$/, ''));
        const print = (p: Buffer, n: TreeNode) => {
          const path = p.toString('utf8');
          if (out.json) {
            out.emit({
              name: n.name.toString('utf8'),
              type: n.type,
              path,
              uid: n.uid,
              gid: n.gid,
              ...(n.size !== undefined ? { size: n.size } : {}),
              mode: n.mode,
              mtime: n.mtime,
              atime: n.atime,
              ctime: n.ctime,
              struct_type: 'node',
            });
          } else if (flags.long) {
            const owner = `${n.user || n.uid} ${n.group || n.gid}`;
            out.info(
              `${modeString(n)} ${owner} ${String(n.size ?? 0n).padStart(12)} ${n.mtime.slice(0, 19).replace('T', ' ')} ${path}`,
            );
          } else out.info(path);
        };
        if (node.type === 'dir' && node.subtree) {
          if (prefix.length > 0) print(prefix, node);
          await walkTree(repo, node.subtree, prefix, print);
        } else print(prefix, node);
      });
    });
}
