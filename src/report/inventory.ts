/**
 * The data inventory an auditor asks for: one row per asset of the policy, including the
 * assets deliberately not backed up, with the columns Data, Storage Type, Location, Data
 * Category, Immutable Backup, Business Use Case, Frequency, Retention, Notes; optionally the
 * live columns Last Backup and Last Verified from the catalog. Rendered as Markdown, CSV or JSON.
 */
import type { Duration } from '../policy/duration.js';
import type { Policy, Retention } from '../policy/types.js';

export interface InventoryRow {
  asset: string;
  data: string;
  storageType: string;
  location: string;
  dataCategory: string;
  immutableBackup: string;
  businessUseCase: string;
  frequency: string;
  retention: string;
  notes: string;
  /** ISO time of the newest good backup, "never", or undefined without live data. */
  lastBackup?: string;
  lastVerified?: string;
}

export interface LiveFacts {
  lastBackup?: string;
  lastVerified?: string;
}

const COLUMNS: [keyof InventoryRow, string][] = [
  ['data', 'Data'],
  ['storageType', 'Storage Type'],
  ['location', 'Location'],
  ['dataCategory', 'Data Category'],
  ['immutableBackup', 'Immutable Backup'],
  ['businessUseCase', 'Business Use Case'],
  ['frequency', 'Frequency'],
  ['retention', 'Retention'],
  ['notes', 'Notes'],
];
const LIVE_COLUMNS: [keyof InventoryRow, string][] = [
  ['lastBackup', 'Last Backup'],
  ['lastVerified', 'Last Verified'],
];

const UNITS: Record<string, string> = { y: 'year', mo: 'month', w: 'week', d: 'day', h: 'hour', m: 'minute' };

/** "60d" → "60 days", "1y6mo" → "1 year 6 months". */
export function durationInWords(d: Duration): string {
  return [...d.text.matchAll(/(\d+)(mo|y|w|d|h|m)/g)]
    .map(([, n, u]) => `${n} ${UNITS[u]}${n === '1' ? '' : 's'}`)
    .join(' ');
}

/** Retention rules in words: "60 days", "7 daily, 4 weekly, tag legal-hold kept". */
export function retentionInWords(r: Retention): string {
  const parts: string[] = [];
  if (r.within) parts.push(durationInWords(r.within));
  if (r.keepLast) parts.push(`last ${r.keepLast}`);
  const counted: [keyof Retention, string][] = [
    ['keepHourly', 'hourly'],
    ['keepDaily', 'daily'],
    ['keepWeekly', 'weekly'],
    ['keepMonthly', 'monthly'],
    ['keepYearly', 'yearly'],
  ];
  for (const [k, word] of counted) if (r[k]) parts.push(`${r[k] as number} ${word}`);
  const within: [keyof Retention, string][] = [
    ['withinHourly', 'hourly'],
    ['withinDaily', 'daily'],
    ['withinWeekly', 'weekly'],
    ['withinMonthly', 'monthly'],
    ['withinYearly', 'yearly'],
  ];
  for (const [k, word] of within) if (r[k]) parts.push(`${word} for ${durationInWords(r[k] as Duration)}`);
  for (const t of r.keepTag ?? []) parts.push(`tag ${t} kept`);
  return parts.join(', ') || 'Kept forever';
}

export function inventoryRows(policy: Policy, live?: Map<string, LiveFacts>): InventoryRow[] {
  return Object.values(policy.assets).map((a) => {
    const base = {
      asset: a.name,
      data: a.data,
      storageType: a.storage ?? '',
      location: a.location ?? '',
      dataCategory: a.category ?? '',
      businessUseCase: a.use ?? '',
      notes: a.notes ?? '',
    };
    const facts = live?.get(a.name);
    if (!a.backup) {
      const none = live ? { lastBackup: 'N/A', lastVerified: 'N/A' } : {};
      return { ...base, immutableBackup: 'N/A', frequency: 'Not backed up', retention: 'N/A', ...none };
    }
    const liveCols = live
      ? { lastBackup: facts?.lastBackup ?? 'never', lastVerified: facts?.lastVerified ?? 'never' }
      : {};
    const repo = policy.repositories[a.repository];
    const immutable = repo?.immutableDays
      ? `Yes (${repo.immutableDays} days)`
      : repo?.appendOnly
        ? 'Yes (append-only)'
        : 'No';
    return {
      ...base,
      immutableBackup: immutable,
      frequency: a.schedule.description,
      retention: retentionInWords(a.retention),
      ...liveCols,
    };
  });
}

function columnsOf(rows: InventoryRow[]): [keyof InventoryRow, string][] {
  return rows.some((r) => r.lastBackup !== undefined) ? [...COLUMNS, ...LIVE_COLUMNS] : COLUMNS;
}

const mdCell = (v: string) => v.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

export function inventoryMarkdown(rows: InventoryRow[]): string {
  const cols = columnsOf(rows);
  const lines = [
    `| ${cols.map(([, h]) => h).join(' | ')} |`,
    `|${cols.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cols.map(([k]) => mdCell(String(r[k] ?? ''))).join(' | ')} |`),
  ];
  return lines.join('\n') + '\n';
}

const csvCell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** RFC 4180 CSV with a header row and CRLF line ends. */
export function inventoryCsv(rows: InventoryRow[]): string {
  const cols = columnsOf(rows);
  const lines = [
    cols.map(([, h]) => csvCell(h)),
    ...rows.map((r) => cols.map(([k]) => csvCell(String(r[k] ?? '')))),
  ];
  return lines.map((l) => l.join(',')).join('\r\n') + '\r\n';
}

export function inventoryJson(rows: InventoryRow[]): string {
  return JSON.stringify(rows, null, 2) + '\n';
}
