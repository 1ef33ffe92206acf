/**
 * The loaded policy: what the rest of holdfast works with. Defaults are filled in, names
 * are carried on each entry, schedules have their time zone, durations are parsed and
 * relative paths (catalog, password files, local repositories, file sources) are absolute.
 * Secrets stay as written (`${ENV}` references); runtime.ts resolves them when needed.
 */
import type { Duration } from './duration.js';
import type { SourceSpec } from './sources.js';

export type CatalogRef = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export interface KeySpec {
  name: string;
  /** Absolute unless it holds a `${ENV}` reference (then resolved at run time). */
  passwordFile?: string;
  passwordCommand?: string;
  /** A `${ENV}` reference. */
  password?: string;
}

export interface RepositorySpec {
  name: string;
  /** restic URL form; a local path is absolute unless it holds a `${ENV}` reference. */
  url: string;
  key: string;
  location?: string;
  /** Days a snapshot cannot be deleted (object lock); undefined when not immutable. */
  immutableDays?: number;
  appendOnly: boolean;
}

export interface Schedule {
  cron: string;
  timezone: string;
  /** In words, for the inventory: "Twice a day". */
  description: string;
}

export interface Retention {
  within?: Duration;
  withinHourly?: Duration;
  withinDaily?: Duration;
  withinWeekly?: Duration;
  withinMonthly?: Duration;
  withinYearly?: Duration;
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepTag?: string[];
}

/** A files source with absolute paths and its `before` commands as a list. */
export interface FilesSource {
  type: 'files';
  paths: string[];
  exclude?: string[];
  excludeFile?: string[];
  before: string[];
}

export type Source = FilesSource | Exclude<SourceSpec, { type: 'files' }>;

export interface DrillSpec {
  schedule?: Schedule;
  target?: { type: string; [k: string]: unknown };
  probes?: Record<string, unknown>[];
  [k: string]: unknown;
}

export interface Inventory {
  name: string;
  data: string;
  storage?: string;
  location?: string;
  category?: string;
  use?: string;
  notes?: string;
}

export interface BackedUpAsset extends Inventory {
  backup: true;
  source: Source;
  schedule: Schedule;
  rpo?: Duration;
  retention: Retention;
  repository: string;
  copies: string[];
  tags: string[];
  drill?: DrillSpec;
}

/** An asset deliberately not backed up (`backup: none`); notes say why. */
export interface UnprotectedAsset extends Inventory {
  backup: false;
  notes: string;
}

export type Asset = BackedUpAsset | UnprotectedAsset;

export interface RecoveryTier {
  tier: string;
  assets: string[];
  manual?: string;
}

export interface Policy {
  /** Absolute path of the policy file. */
  file: string;
  /** Its directory: relative paths and commands start here. */
  dir: string;
  catalog: CatalogRef;
  timezone: string;
  concurrency: number;
  keys: Record<string, KeySpec>;
  repositories: Record<string, RepositorySpec>;
  assets: Record<string, Asset>;
  recovery: RecoveryTier[];
  checks: {
    integrity?: { schedule?: Schedule; readData?: string | number; [k: string]: unknown };
    health?: { schedule?: Schedule; [k: string]: unknown };
    [k: string]: unknown;
  };
  alerts: Record<string, unknown>[];
  audit: { retention?: Duration; [k: string]: unknown };
}
