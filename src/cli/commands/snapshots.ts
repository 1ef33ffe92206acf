/** `holdfast snapshots`: list snapshots, as a table or as restic-compatible JSON. */
import type { Command } from 'commander';
import { withRepo } from '../../app/session.js';
import { listSnapshots, matchesFilter } from '../../engine/snapshots.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { makeOutput } from '../output.js';
import { snapshotJson } from '../snapshot-json.js';

const collect = (v: string, acc: string[]) => [...acc, v];

export function registerSnapshots(program: Command, globals: () => GlobalOptions): void {
  program
    .command('snapshots')
    .description('list snapshots')
    .option('-H, --host <host>', 'only snapshots of this host (repeatable)', collect, [])
    .option(
      '--tag <tags>',
      'only snapshots with these tags (comma = all of them; repeatable = any group)',
      collect,
      [],
    )
    .option('--path <path>', 'only snapshots containing this path (repeatable)', collect, [])
    .action(async (flags: { host: string[]; tag: string[]; path: string[] }) => {
      const g = globals();
      const out = makeOutput(g);
      const all = await withRepo(repoRef(g), 'shared', false, listSnapshots);
      const shown = all.filter((s) =>
        matchesFilter(s.snapshot, { hosts: flags.host, tags: flags.tag, paths: flags.path }),
      );
      if (out.json) {
        process.stdout.write(JSON.stringify(shown.map(snapshotJson)) + '\n');
        return;
      }
      const rows = shown.map((s) => [
        s.id.slice(0, 8),
        s.snapshot.time.slice(0, 19).replace('T', ' '),
        s.snapshot.hostname ?? '',
        (s.snapshot.tags ?? []).join(','),
        s.snapshot.paths.join(', '),
      ]);
      const head = ['ID', 'Time', 'Host', 'Tags', 'Paths'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      const line = (r: string[]) =>
        r
          .map((c, i) => c.padEnd(widths[i]))
          .join('  ')
          .trimEnd();
      out.info(line(head));
      out.info('-'.repeat(line(head).length + 10));
      for (const r of rows) out.info(line(r));
      out.info('-'.repeat(line(head).length + 10));
      out.info(`${rows.length} snapshots`);
    });
}
