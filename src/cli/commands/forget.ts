/**
 * `holdfast forget`: remove snapshots by a retention policy (restic's --keep-* flags, group
 * by host and paths by default) or by ID; `--dry-run` only shows the decisions, `--json`
 * prints restic's forget JSON, `--prune` then removes the data nothing references any more.
 */
import type { Command } from 'commander';
import { forget, type ForgetOutcome } from '../../app/forget.js';
import type { ForgetGroupPlan } from '../../engine/forget.js';
import { pruneRepository } from '../../engine/prune.js';
import {
  describePolicy,
  isEmptyPolicy,
  parseRetentionDuration,
  type RetentionDuration,
  type RetentionPolicy,
} from '../../engine/retention.js';
import { DEFAULT_GROUP_BY, parseGroupBy } from '../../engine/snapshot-group.js';
import type { StoredSnapshot } from '../../engine/snapshots.js';
import { fail } from '../../errors.js';
import { forgetJson } from '../forget-json.js';
import { type GlobalOptions, repoRef } from '../global-options.js';
import { makeOutput, type Output } from '../output.js';
import { printPruneReport } from './prune.js';

interface ForgetFlags {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithin?: RetentionDuration;
  keepWithinHourly?: RetentionDuration;
  keepWithinDaily?: RetentionDuration;
  keepWithinWeekly?: RetentionDuration;
  keepWithinMonthly?: RetentionDuration;
  keepWithinYearly?: RetentionDuration;
  keepTag: string[][];
  groupBy?: string;
  host: string[];
  tag: string[];
  path: string[];
  dryRun?: boolean;
  prune?: boolean;
}

/** A --keep-* count: a whole number, or "unlimited" / -1 for no limit (restic 0.15+). */
function parseCount(text: string): number {
  if (text === 'unlimited' || text === '-1') return -1;
  if (!/^\d+$/.test(text))
    fail('INVALID_ARGUMENT', `"${text}" is not a count: give a whole number or "unlimited"`);
  return Number(text);
}

const collect = (v: string, acc: string[]) => [...acc, v];
const collectTags = (v: string, acc: string[][]) => [...acc, v.split(',').map((t) => t.trim())];

function policyOf(f: ForgetFlags): RetentionPolicy {
  return {
    last: f.keepLast,
    hourly: f.keepHourly,
    daily: f.keepDaily,
    weekly: f.keepWeekly,
    monthly: f.keepMonthly,
    yearly: f.keepYearly,
    within: f.keepWithin,
    withinHourly: f.keepWithinHourly,
    withinDaily: f.keepWithinDaily,
    withinWeekly: f.keepWithinWeekly,
    withinMonthly: f.keepWithinMonthly,
    withinYearly: f.keepWithinYearly,
    tags: f.keepTag,
  };
}

/** A table like restic's: oldest first, a Reasons column for kept snapshots. */
function printTable(out: Output, list: StoredSnapshot[], reasons?: Map<string, string[]>): void {
  const head = ['ID', 'Time', 'Host', 'Tags', ...(reasons ? ['Reasons'] : []), 'Paths'];
  const rows: string[][] = [];
  for (const s of [...list].reverse()) {
    const why = reasons?.get(s.id) ?? [];
    const paths = s.snapshot.paths;
    const lines = Math.max(1, why.length, paths.length);
    for (let i = 0; i < lines; i++) {
      const first = i === 0;
      rows.push([
        first ? s.id.slice(0, 8) : '',
        first ? s.snapshot.time.slice(0, 19).replace('T', ' ') : '',
        first ? (s.snapshot.hostname ?? '') : '',
        first ? (s.snapshot.tags ?? []).join(',') : '',
        ...(reasons ? [why[i] ?? ''] : []),
        paths[i] ?? '',
      ]);
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const rule = '-'.repeat(widths.reduce((a, w) => a + w + 2, 0));
  out.info(line(head));
  out.info(rule);
  for (const r of rows) out.info(line(r));
  out.info(rule);
  out.info(`${list.length} snapshots`);
}

function printGroup(out: Output, g: ForgetGroupPlan, grouped: boolean): void {
  if (grouped) {
    const parts: string[] = [];
    if (g.key.hostname) parts.push(`host [${g.key.hostname}]`);
    if (g.key.paths) parts.push(`paths [${g.key.paths.join(', ')}]`);
    if (g.key.tags) parts.push(`tags [${g.key.tags.join(', ')}]`);
    out.info(`snapshots for (${parts.join(', ')}):`);
  }
  if (g.keep.length) {
    out.info(`keep ${g.keep.length} snapshots:`);
    printTable(out, g.keep, new Map(g.reasons.map((r) => [r.item.id, r.matches])));
    out.info('');
  }
  if (g.remove.length) {
    out.info(`remove ${g.remove.length} snapshots:`);
    printTable(out, g.remove);
    out.info('');
  }
}

function printOutcome(out: Output, outcome: ForgetOutcome, grouped: boolean): void {
  if (out.json) {
    if (outcome.groups.length) process.stdout.write(forgetJson(outcome.groups) + '\n');
    return;
  }
  for (const group of outcome.groups) printGroup(out, group, grouped);
  const n = outcome.removed.length;
  const names = outcome.removed.map((s) => s.id.slice(0, 8)).join(' ');
  if (n === 0) out.info('no snapshots removed');
  else if (outcome.dryRun) out.info(`would remove ${n} snapshots: ${names}`);
  else out.info(`removed ${n} snapshots: ${names}`);
}

export function registerForget(program: Command, globals: () => GlobalOptions): void {
  program
    .command('forget')
    .description('remove snapshots by a retention policy, or by ID (data stays until prune)')
    .argument('[snapshot...]', 'snapshot IDs to remove (instead of a policy)')
    .option('-l, --keep-last <n>', 'keep the last n snapshots', parseCount)
    .option('-H, --keep-hourly <n>', 'keep the last n hourly snapshots', parseCount)
    .option('-d, --keep-daily <n>', 'keep the last n daily snapshots', parseCount)
    .option('-w, --keep-weekly <n>', 'keep the last n weekly snapshots', parseCount)
    .option('-m, --keep-monthly <n>', 'keep the last n monthly snapshots', parseCount)
    .option('-y, --keep-yearly <n>', 'keep the last n yearly snapshots', parseCount)
    .option(
      '--keep-within <duration>',
      'keep snapshots newer than duration (e.g. 1y5m7d2h) before the newest',
      parseRetentionDuration,
    )
    .option(
      '--keep-within-hourly <duration>',
      'keep hourly snapshots within duration',
      parseRetentionDuration,
    )
    .option('--keep-within-daily <duration>', 'keep daily snapshots within duration', parseRetentionDuration)
    .option(
      '--keep-within-weekly <duration>',
      'keep weekly snapshots within duration',
      parseRetentionDuration,
    )
    .option(
      '--keep-within-monthly <duration>',
      'keep monthly snapshots within duration',
      parseRetentionDuration,
    )
    .option(
      '--keep-within-yearly <duration>',
      'keep yearly snapshots within duration',
      parseRetentionDuration,
    )
    .option('--keep-tag <taglist>', 'always keep snapshots with all these tags (repeatable)', collectTags, [])
    .option('--host <host>', 'only consider snapshots of this host (repeatable)', collect, [])
    .option('--tag <tags>', 'only consider snapshots with these tags (repeatable)', collect, [])
    .option('--path <path>', 'only consider snapshots including this path (repeatable)', collect, [])
    .option('-g, --group-by <group>', 'group snapshots by host, paths and/or tags ("" for one group)')
    .option('-n, --dry-run', 'only show what would be removed')
    .option('--prune', 'then remove the data no snapshot references any more (holdfast prune)')
    .action(async (ids: string[], flags: ForgetFlags) => {
      const g = globals();
      const out = makeOutput(g);
      const policy = policyOf(flags);
      const groupBy = flags.groupBy === undefined ? DEFAULT_GROUP_BY : parseGroupBy(flags.groupBy);
      const grouped = groupBy.host || groupBy.paths || groupBy.tags;
      if (ids.length === 0 && !isEmptyPolicy(policy)) out.info(`Applying policy: ${describePolicy(policy)}`);
      await forget(repoRef(g), {
        policy,
        groupBy,
        filter: { hosts: flags.host, tags: flags.tag, paths: flags.path },
        ids,
        dryRun: flags.dryRun,
        report: (outcome) => printOutcome(out, outcome, grouped),
        after: flags.prune
          ? async (repo, removed) => {
              const verb = flags.dryRun ? 'would be' : 'have been';
              out.info(`${removed.length} snapshots ${verb} removed, running prune`);
              printPruneReport(out, await pruneRepository(repo, { dryRun: flags.dryRun }));
            }
          : undefined,
      });
    });
}
