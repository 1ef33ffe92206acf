/**
 * `prune`: removes data no snapshot references, safely. Packs whose blobs are all unused are
 * deleted; partly used packs are repacked (used blobs copied into new packs) until the unused
 * share is within `maxUnusedPercent`. The order makes every crash point safe, as restic's:
 * new packs and their index first, then an index of every kept pack, then the old index
 * files, and only then the packs that are no longer referenced. A repository killed at any
 * point passes check, and the next prune finishes the job.
 * Files under retention (S3 Object Lock, see Backend.retainedUntil) are never removed: a
 * retained pack is kept and stays indexed, and a retained old index file stays, so every
 * pack it lists is kept too (the repository stays valid); the report says until when.
 * The caller holds the exclusive lock; the repository's index must not be loaded yet.
 */
import { fail, isHoldfastError } from '../errors.js';
import { decodeIndex, encodeIndex, type IndexedPack } from './index-file.js';
import { addPacks } from './master-index.js';
import type { PackedBlob } from './pack.js';
import { collectUsedBlobs, type UsedBlobs } from './reachability.js';
import { Repository } from './repository.js';
import { decodeSnapshot } from './snapshot.js';

export type PrunePhase = 'planned' | 'repacked' | 'indexed' | 'old-index-removed' | 'done';

export interface PruneOptions {
  /** Unused data tolerated afterwards, as a share of the repository (restic default 5). */
  maxUnusedPercent?: number;
  dryRun?: boolean;
  onProgress?: (p: { phase: 'repack' | 'delete'; done: number; total: number }) => void;
  /** Called after each step; tests use it to stop the process at exact points. */
  onPhase?: (phase: PrunePhase) => void | Promise<void>;
}

export interface PruneReport {
  dryRun: boolean;
  snapshots: number;
  packsBefore: number;
  packsRemoved: number;
  packsRepacked: number;
  /** Pack files not listed in any index (left by an interrupted backup or prune). */
  packsUnindexed: number;
  packsWritten: number;
  bytesBefore: number;
  usedBytes: number;
  unusedBytesBefore: number;
  unusedBytesAfter: number;
  bytesDeleted: number;
  /** Files prune would have removed but that are under retention (kept for now). */
  filesRetained: number;
  /** The latest retain-until date of those files (ISO 8601). */
  retainedUntil?: string;
}

interface PackPlan {
  id: string;
  blobs: PackedBlob[];
  size: number;
  /** Blobs this pack keeps for the repository (one copy of each used blob). */
  claimed: PackedBlob[];
  usedBytes: number;
  unusedBytes: number;
}

const INDEX_BLOBS_PER_FILE = 150_000;
const blobKey = (b: { type: string; id: string }) => `${b.type}:${b.id}`;

/** Decides, for each pack, which blobs it keeps; every used blob is claimed by exactly one pack. */
function planPacks(
  packs: Map<string, PackedBlob[]>,
  sizes: Map<string, number>,
  used: UsedBlobs,
): PackPlan[] {
  const isUsed = (b: PackedBlob) => used[b.type].has(b.id);
  const share = (blobs: PackedBlob[]) => blobs.filter(isUsed).length / Math.max(1, blobs.length);
  // Let the most-used packs claim first, so duplicates end up in the packs that go anyway.
  const order = [...packs].sort((a, b) => share(b[1]) - share(a[1]) || (a[0] < b[0] ? -1 : 1));
  const claimedKeys = new Set<string>();
  return order.map(([id, blobs]) => {
    const plan: PackPlan = { id, blobs, size: sizes.get(id) ?? 0, claimed: [], usedBytes: 0, unusedBytes: 0 };
    for (const b of blobs) {
      const k = blobKey(b);
      if (isUsed(b) && !claimedKeys.has(k)) {
        claimedKeys.add(k);
        plan.claimed.push(b);
        plan.usedBytes += b.length;
      } else plan.unusedBytes += b.length;
    }
    return plan;
  });
}

/** Partly used packs to repack, most wasteful first, until the unused share is within the limit. */
function chooseRepacks(partly: PackPlan[], usedBytes: number, maxUnusedPercent: number): PackPlan[] {
  const p = Math.min(Math.max(maxUnusedPercent, 0), 100);
  const allowed = p >= 100 ? Infinity : (usedBytes * p) / (100 - p);
  let unused = partly.reduce((n, x) => n + x.unusedBytes, 0);
  const chosen: PackPlan[] = [];
  const byWaste = [...partly].sort((a, b) => b.unusedBytes / b.size - a.unusedBytes / a.size);
  for (const plan of byWaste) {
    if (unused <= allowed) break;
    chosen.push(plan);
    unused -= plan.unusedBytes;
  }
  return chosen;
}

async function loadAllIndexes(
  repo: Repository,
): Promise<{ ids: string[]; packs: Map<string, PackedBlob[]>; packsOf: Map<string, string[]> }> {
  const ids = await repo.listIds('index');
  const packs = new Map<string, PackedBlob[]>();
  const packsOf = new Map<string, string[]>();
  for (const id of ids) {
    const idx = decodeIndex(await repo.loadFile('index', id), `index ${id}`);
    addPacks(repo.index, idx.packs);
    for (const p of idx.packs) if (!packs.has(p.id)) packs.set(p.id, p.blobs);
    packsOf.set(
      id,
      idx.packs.map((p) => p.id),
    );
  }
  return { ids, packs, packsOf };
}

interface Retention {
  /** Old index files under retention: they stay. */
  indexes: Set<string>;
  /** Packs that must stay: retained themselves, or listed in a retained index file. */
  packs: Set<string>;
  /** Retain-until date of each retained file prune would have removed. */
  until: Date[];
}

/** Which of the files prune may remove are under retention (none when the backend has none). */
async function retentionOf(
  repo: Repository,
  oldIndexIds: string[],
  packsOf: Map<string, string[]>,
  candidatePacks: string[],
): Promise<Retention> {
  const r: Retention = { indexes: new Set(), packs: new Set(), until: [] };
  const retainedUntil = repo.backend.retainedUntil?.bind(repo.backend);
  if (!retainedUntil) return r;
  for (const id of oldIndexIds) {
    const until = await retainedUntil({ type: 'index', name: id });
    if (!until) continue;
    r.indexes.add(id);
    r.until.push(until);
    for (const p of packsOf.get(id) ?? []) r.packs.add(p);
  }
  for (const id of candidatePacks) {
    if (r.packs.has(id)) continue;
    const until = await retainedUntil({ type: 'pack', name: id });
    if (!until) continue;
    r.packs.add(id);
    r.until.push(until);
  }
  return r;
}

async function usedBlobsOf(repo: Repository): Promise<{ used: UsedBlobs; snapshots: number }> {
  const roots: string[] = [];
  const snapIds = await repo.listIds('snapshot');
  for (const id of snapIds) roots.push(decodeSnapshot(await repo.loadFile('snapshot', id)).tree);
  let used: UsedBlobs;
  try {
    used = await collectUsedBlobs(repo, roots);
  } catch (err) {
    if (!isHoldfastError(err)) throw err;
    return fail(
      'INTEGRITY',
      `prune stopped before deleting anything: ${err.message}. Run "holdfast check"`,
      err,
    );
  }
  for (const type of ['tree', 'data'] as const) {
    for (const id of used[type]) {
      if (!repo.index[type].has(id))
        fail(
          'INTEGRITY',
          `prune stopped before deleting anything: ${type} blob ${id} is referenced but not in the index`,
        );
    }
  }
  return { used, snapshots: snapIds.length };
}

/** Copies the blobs each pack keeps into new packs, verifying every one on the way. */
async function repack(repo: Repository, plans: PackPlan[], opts: PruneOptions): Promise<number> {
  const writer = new Repository(repo.backend, repo.key, repo.config);
  let done = 0;
  for (const plan of plans) {
    const bytes = await repo.backend.load({ type: 'pack', name: plan.id });
    for (const b of plan.claimed) {
      const plain = repo.decodeBlob({ ...b, packId: plan.id }, bytes.subarray(b.offset, b.offset + b.length));
      await writer.saveBlob(b.type, plain, b.id);
    }
    opts.onProgress?.({ phase: 'repack', done: ++done, total: plans.length });
  }
  const before = new Set(writer.index.packs.keys());
  await writer.flush();
  return [...writer.index.packs.keys()].filter((k) => !before.has(k)).length;
}

async function writeIndexOf(repo: Repository, packs: IndexedPack[]): Promise<void> {
  let batch: IndexedPack[] = [];
  let count = 0;
  for (const p of packs) {
    if (count + p.blobs.length > INDEX_BLOBS_PER_FILE && batch.length > 0) {
      await repo.saveFile('index', encodeIndex({ packs: batch }));
      batch = [];
      count = 0;
    }
    batch.push(p);
    count += p.blobs.length;
  }
  if (batch.length > 0) await repo.saveFile('index', encodeIndex({ packs: batch }));
}

export async function pruneRepository(repo: Repository, opts: PruneOptions = {}): Promise<PruneReport> {
  const phase = async (p: PrunePhase) => opts.onPhase?.(p);
  if (!opts.dryRun && repo.backend.canDelete && !(await repo.backend.canDelete('pack')))
    fail(
      'APPEND_ONLY',
      `the repository at ${repo.backend.location} is append-only: prune cannot remove anything there and changed nothing (run it where deletes are allowed; --dry-run still works)`,
    );
  const { ids: oldIndexIds, packs, packsOf } = await loadAllIndexes(repo);
  const sizes = new Map((await repo.backend.list('pack')).map((f) => [f.name, f.size]));
  const missing = [...packs.keys()].filter((id) => !sizes.has(id));
  if (missing.length > 0)
    fail(
      'INTEGRITY',
      `prune stopped before deleting anything: ${missing.length} pack(s) listed in the index are missing (first: ${missing[0]}). Run "holdfast check"`,
    );
  const { used, snapshots } = await usedBlobsOf(repo);

  const plans = planPacks(packs, sizes, used);
  const allUnindexed = [...sizes.keys()].filter((id) => !packs.has(id));
  const candidates = [
    ...plans.filter((p) => p.claimed.length === 0 || p.unusedBytes > 0).map((p) => p.id),
    ...allUnindexed,
  ];
  const retention = await retentionOf(repo, oldIndexIds, packsOf, candidates);
  const mayGo = (id: string) => !retention.packs.has(id);
  const unindexed = allUnindexed.filter(mayGo);
  const unusedPacks = plans.filter((p) => p.claimed.length === 0 && mayGo(p.id));
  const partly = plans.filter((p) => p.claimed.length > 0 && p.unusedBytes > 0 && mayGo(p.id));
  const usedBytes = plans.reduce((n, p) => n + p.usedBytes, 0);
  const toRepack = chooseRepacks(partly, usedBytes, opts.maxUnusedPercent ?? 5);
  const repackIds = new Set(toRepack.map((p) => p.id));
  // Retained packs stay, indexed, even when nothing uses them.
  const kept = plans.filter((p) => (p.claimed.length > 0 || !mayGo(p.id)) && !repackIds.has(p.id));
  const doomed = [...unusedPacks.map((p) => p.id), ...repackIds, ...unindexed];
  const report: PruneReport = {
    dryRun: !!opts.dryRun,
    snapshots,
    packsBefore: sizes.size,
    packsRemoved: unusedPacks.length,
    packsRepacked: toRepack.length,
    packsUnindexed: unindexed.length,
    packsWritten: 0,
    bytesBefore: [...sizes.values()].reduce((n, s) => n + s, 0),
    usedBytes,
    unusedBytesBefore: plans.reduce((n, p) => n + p.unusedBytes, 0),
    unusedBytesAfter: kept.reduce((n, p) => n + p.unusedBytes, 0),
    bytesDeleted: doomed.reduce((n, id) => n + (sizes.get(id) ?? 0), 0),
    filesRetained: retention.until.length,
  };
  if (retention.until.length > 0)
    report.retainedUntil = new Date(Math.max(...retention.until.map((d) => d.getTime()))).toISOString();
  await phase('planned');
  if (opts.dryRun || doomed.length === 0) return report;

  report.packsWritten = await repack(repo, toRepack, opts);
  await phase('repacked');
  // Packs a retained old index file lists stay indexed by it; the new index lists the rest.
  const stillIndexed = new Set([...retention.indexes].flatMap((id) => packsOf.get(id) ?? []));
  await writeIndexOf(
    repo,
    kept.filter((p) => !stillIndexed.has(p.id)).map((p) => ({ id: p.id, blobs: p.blobs })),
  );
  await phase('indexed');
  for (const id of oldIndexIds)
    if (!retention.indexes.has(id)) await repo.backend.remove({ type: 'index', name: id });
  await phase('old-index-removed');
  let done = 0;
  for (const id of doomed) {
    await repo.backend.remove({ type: 'pack', name: id });
    opts.onProgress?.({ phase: 'delete', done: ++done, total: doomed.length });
  }
  await phase('done');
  return report;
}
