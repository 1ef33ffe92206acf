/**
 * Checks that need more than one place of the file, run after the schema passed: names
 * that must exist (keys, repositories, assets), exactly one secret source per key, what a
 * backed-up asset must have and a `backup: none` asset must not, retention at least as
 * long as every target repository's immutability, and an rpo the schedule can meet.
 */
import { longestGapMs } from './cron.js';
import { describeMs, MS, parseDuration } from './duration.js';
import type { Problem } from './problems.js';
import type { PolicyFile, RetentionSpec, ScheduleSpec } from './schema.js';
import { suggestion } from './suggest.js';

const SECRET_SOURCES = ['passwordFile', 'passwordCommand', 'password'] as const;
const BACKUP_FIELDS = [
  'source',
  'schedule',
  'rpo',
  'retention',
  'repository',
  'copies',
  'drill',
  'tags',
] as const;
const REQUIRED_FOR_BACKUP: Record<string, string> = {
  source: 'source: { type: files, paths: [/srv/data] }',
  schedule: 'schedule: "0 3 * * *"',
  retention: 'retention: { within: 60d }',
  repository: 'repository: <a name under repositories:>',
};

/** DST shifts a daily schedule by up to an hour; do not call that a missed rpo. */
const RPO_TOLERANCE_MS = MS.HOUR;

/**
 * The period a retention is sure to cover, in ms: the longest of its `within*` periods and
 * its keep counts turned into time (keepDaily 30 = 30 days). keepLast and keepTag hold no
 * period. Months count 30 days and years 365.
 */
export function retentionSpanMs(r: RetentionSpec): number {
  const periods = [r.within, r.withinHourly, r.withinDaily, r.withinWeekly, r.withinMonthly, r.withinYearly]
    .map((d) => (d ? (parseDuration(d)?.ms ?? 0) : 0))
    .concat([
      (r.keepHourly ?? 0) * MS.HOUR,
      (r.keepDaily ?? 0) * MS.DAY,
      (r.keepWeekly ?? 0) * 7 * MS.DAY,
      (r.keepMonthly ?? 0) * 30 * MS.DAY,
      (r.keepYearly ?? 0) * 365 * MS.DAY,
    ]);
  return Math.max(0, ...periods);
}

function scheduleParts(s: ScheduleSpec, defaultTz: string): { cron: string; timezone: string } {
  return typeof s === 'string'
    ? { cron: s, timezone: defaultTz }
    : { cron: s.cron, timezone: s.timezone ?? defaultTz };
}

export function checkSemantics(p: PolicyFile): Problem[] {
  const problems: Problem[] = [];
  const add = (path: Problem['path'], message: string, at: Problem['at'] = 'value') =>
    problems.push({ path, message, at });
  const keyNames = Object.keys(p.keys);
  const repoNames = Object.keys(p.repositories);
  const assetNames = Object.keys(p.assets);

  for (const [name, key] of Object.entries(p.keys)) {
    const given = SECRET_SOURCES.filter((s) => key[s] !== undefined);
    if (given.length === 0)
      add(
        ['keys', name],
        `key "${name}" has no secret source — add one of passwordFile: /run/secrets/backup, passwordCommand: "pass show backup" or password: "\${BACKUP_PASSWORD}"`,
        'key',
      );
    else if (given.length > 1)
      add(
        ['keys', name, given[1]],
        `key "${name}" has ${given.length} secret sources (${given.join(', ')}) — keep exactly one of them`,
        'key',
      );
  }

  for (const [name, repo] of Object.entries(p.repositories)) {
    if (!(repo.key in p.keys))
      add(
        ['repositories', name, 'key'],
        `there is no key named "${repo.key}" — ${suggestion(repo.key, keyNames, 'name one of the keys')}`,
      );
  }

  if (assetNames.length === 0)
    add(['assets'], 'no assets are listed — add at least one asset (see examples/holdfast.yaml)', 'key');

  for (const [name, a] of Object.entries(p.assets)) {
    const at = (...rest: (string | number)[]) => ['assets', name, ...rest];
    if (a.backup === 'none') {
      for (const f of BACKUP_FIELDS)
        if (a[f] !== undefined)
          add(
            at(f),
            `asset "${name}" has backup: none, so ${f} is never used — remove ${f}, or remove backup: none to back it up`,
            'key',
          );
      if (a.notes === undefined)
        add(
          at('backup'),
          `asset "${name}" is not backed up but has no notes — add notes: saying why (e.g. "Can be recreated from Git")`,
          'key',
        );
      continue;
    }
    for (const [f, example] of Object.entries(REQUIRED_FOR_BACKUP))
      if (a[f as keyof typeof a] === undefined)
        add(
          at(),
          `asset "${name}" has no ${f} — add ${example}, or backup: none if it is deliberately not backed up`,
          'key',
        );

    const targets: { repo: string; path: (string | number)[] }[] = [];
    if (a.repository !== undefined) {
      if (a.repository in p.repositories) targets.push({ repo: a.repository, path: at('repository') });
      else
        add(
          at('repository'),
          `there is no repository named "${a.repository}" — ${suggestion(a.repository, repoNames, 'name one of the repositories')}`,
        );
    }
    const seen = new Set<string>();
    (a.copies ?? []).forEach((c, i) => {
      if (c === a.repository)
        add(
          at('copies', i),
          `"${c}" is the asset's own repository, a copy must go elsewhere — name another repository or remove it from copies`,
        );
      else if (seen.has(c)) add(at('copies', i), `"${c}" is listed twice — remove one`);
      else if (!(c in p.repositories))
        add(
          at('copies', i),
          `there is no repository named "${c}" — ${suggestion(c, repoNames, 'name one of the repositories')}`,
        );
      else targets.push({ repo: c, path: at('copies', i) });
      seen.add(c);
    });

    if (a.retention) {
      const r = a.retention;
      const rules = Object.values(r).filter((v) => v !== undefined);
      if (rules.length === 0)
        add(
          at('retention'),
          'the retention keeps nothing — add a rule such as within: 60d or keepDaily: 30',
          'key',
        );
      else {
        const span = retentionSpanMs(r);
        const retentionPath = r.within !== undefined ? at('retention', 'within') : at('retention');
        for (const t of targets) {
          const days = p.repositories[t.repo].immutable?.days;
          if (days === undefined || span >= days * MS.DAY) continue;
          const kept = span > 0 ? `keeps snapshots for ${describeMs(span)}` : 'holds no fixed period';
          add(
            retentionPath,
            `the retention ${kept} but repository "${t.repo}" is immutable for ${days} days — retention must keep snapshots at least ${days} days (e.g. within: ${days}d), or lower immutable.days of "${t.repo}"`,
            r.within !== undefined ? 'value' : 'key',
          );
        }
      }
    }

    if (a.rpo !== undefined && a.schedule !== undefined) {
      const rpo = parseDuration(a.rpo);
      const { cron, timezone } = scheduleParts(a.schedule, p.timezone);
      if (rpo) {
        let gap: number;
        try {
          gap = longestGapMs(cron, timezone);
        } catch {
          gap = 0; // the schema reported the cron or time zone already
        }
        if (gap > rpo.ms + RPO_TOLERANCE_MS)
          add(
            at('rpo'),
            `the schedule runs only every ${describeMs(gap)}, so an rpo of ${a.rpo} cannot be met — schedule backups more often or raise the rpo to ${describeMs(gap)}`,
          );
      }
    }
  }

  (p.recovery ?? []).forEach((tier, i) => {
    (tier.assets ?? []).forEach((name, j) => {
      if (!(name in p.assets))
        add(
          ['recovery', i, 'assets', j],
          `there is no asset named "${name}" — ${suggestion(name, assetNames, 'name one of the assets')}`,
        );
    });
    if (!tier.assets?.length && tier.manual === undefined)
      add(
        ['recovery', i],
        `recovery step "${tier.tier}" does nothing — add assets: [...] or manual: "what to do"`,
        'key',
      );
  });

  return problems;
}
