/**
 * Turns a checked policy file into the loaded Policy: defaults filled in, schedules with
 * their time zone and wording, durations parsed, and relative paths made absolute against
 * the policy file's directory (strings holding `${ENV}` references wait for run time).
 */
import * as path from 'node:path';
import { parseDuration, type Duration } from './duration.js';
import { describeSchedule } from './frequency.js';
import type { PolicyFile, RetentionSpec, ScheduleSpec } from './schema.js';
import { hasSecretRef } from './secret-ref.js';
import type { Asset, CatalogRef, Policy, Retention, Schedule, Source } from './types.js';
import type { SourceSpec } from './sources.js';

const REMOTE_SCHEME = /^(sftp|rest|s3|rclone|b2|azure|gs|swift):/;

/** A path from the policy file made absolute against its directory (references left alone). */
export function policyPath(dir: string, p: string): string {
  return hasSecretRef(p) ? p : path.resolve(dir, p);
}

/** A repository URL with a relative local path made absolute; remote URLs unchanged. */
export function repositoryUrlFrom(dir: string, url: string): string {
  if (REMOTE_SCHEME.test(url) || hasSecretRef(url)) return url;
  if (url.startsWith('local:')) return `local:${path.resolve(dir, url.slice('local:'.length))}`;
  return path.resolve(dir, url);
}

export function toSchedule(s: ScheduleSpec, defaultTz: string): Schedule {
  const cron = (typeof s === 'string' ? s : s.cron).trim();
  const timezone = typeof s === 'string' ? defaultTz : (s.timezone ?? defaultTz);
  return { cron, timezone, description: describeSchedule(cron) };
}

const dur = (s: string | undefined): Duration | undefined => (s === undefined ? undefined : parseDuration(s));

function toRetention(r: RetentionSpec): Retention {
  const out: Retention = {
    within: dur(r.within),
    withinHourly: dur(r.withinHourly),
    withinDaily: dur(r.withinDaily),
    withinWeekly: dur(r.withinWeekly),
    withinMonthly: dur(r.withinMonthly),
    withinYearly: dur(r.withinYearly),
    keepLast: r.keepLast,
    keepHourly: r.keepHourly,
    keepDaily: r.keepDaily,
    keepWeekly: r.keepWeekly,
    keepMonthly: r.keepMonthly,
    keepYearly: r.keepYearly,
    keepTag: r.keepTag,
  };
  for (const k of Object.keys(out) as (keyof Retention)[]) if (out[k] === undefined) delete out[k];
  return out;
}

function toSource(dir: string, s: SourceSpec): Source {
  if (s.type !== 'files') return s;
  return {
    type: 'files',
    paths: s.paths.map((p) => policyPath(dir, p)),
    ...(s.exclude ? { exclude: s.exclude } : {}),
    ...(s.excludeFile ? { excludeFile: s.excludeFile.map((p) => policyPath(dir, p)) } : {}),
    before: s.before === undefined ? [] : typeof s.before === 'string' ? [s.before] : s.before,
  };
}

function toCatalog(dir: string, catalog: string): CatalogRef {
  if (catalog.startsWith('sqlite:')) return { kind: 'sqlite', path: path.resolve(dir, catalog.slice(7)) };
  return { kind: 'postgres', url: catalog };
}

/** `p` must have passed the schema and semantics checks. */
export function resolvePolicy(p: PolicyFile, file: string): Policy {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  const tz = p.timezone;
  const assets: Record<string, Asset> = {};
  for (const [name, a] of Object.entries(p.assets)) {
    const inventory = {
      name,
      data: a.data,
      ...(a.storage !== undefined ? { storage: a.storage } : {}),
      ...(a.location !== undefined ? { location: a.location } : {}),
      ...(a.category !== undefined ? { category: a.category } : {}),
      ...(a.use !== undefined ? { use: a.use } : {}),
    };
    if (a.backup === 'none') {
      assets[name] = { ...inventory, backup: false, notes: a.notes ?? '' };
      continue;
    }
    const { schedule: drillSchedule, ...drillRest } = a.drill ?? {};
    assets[name] = {
      ...inventory,
      ...(a.notes !== undefined ? { notes: a.notes } : {}),
      backup: true,
      source: toSource(dir, a.source!),
      schedule: toSchedule(a.schedule!, tz),
      ...(a.rpo !== undefined ? { rpo: parseDuration(a.rpo) } : {}),
      retention: toRetention(a.retention!),
      repository: a.repository!,
      copies: a.copies ?? [],
      tags: a.tags ?? [],
      ...(a.drill
        ? { drill: { ...drillRest, ...(drillSchedule ? { schedule: toSchedule(drillSchedule, tz) } : {}) } }
        : {}),
    };
  }
  const integrity = p.checks?.integrity;
  const health = p.checks?.health;
  return {
    file: abs,
    dir,
    catalog: toCatalog(dir, p.catalog),
    timezone: tz,
    concurrency: p.concurrency,
    keys: Object.fromEntries(
      Object.entries(p.keys).map(([name, k]) => [
        name,
        {
          name,
          ...(k.passwordFile !== undefined ? { passwordFile: policyPath(dir, k.passwordFile) } : {}),
          ...(k.passwordCommand !== undefined ? { passwordCommand: k.passwordCommand } : {}),
          ...(k.password !== undefined ? { password: k.password } : {}),
        },
      ]),
    ),
    repositories: Object.fromEntries(
      Object.entries(p.repositories).map(([name, r]) => [
        name,
        {
          name,
          url: repositoryUrlFrom(dir, r.url),
          key: r.key,
          ...(r.location !== undefined ? { location: r.location } : {}),
          ...(r.immutable ? { immutableDays: r.immutable.days } : {}),
          appendOnly: r.appendOnly ?? false,
        },
      ]),
    ),
    assets,
    recovery: (p.recovery ?? []).map((t) => ({
      tier: t.tier,
      assets: t.assets ?? [],
      ...(t.manual !== undefined ? { manual: t.manual } : {}),
    })),
    checks: {
      ...p.checks,
      integrity: integrity
        ? { ...integrity, schedule: integrity.schedule ? toSchedule(integrity.schedule, tz) : undefined }
        : undefined,
      health: health
        ? { ...health, schedule: health.schedule ? toSchedule(health.schedule, tz) : undefined }
        : undefined,
    },
    alerts: p.alerts ?? [],
    audit: { ...p.audit, retention: dur(p.audit?.retention) },
  };
}
