/**
 * `check`: proves a repository is whole. Structure: every index file decodes, every indexed
 * pack exists with the size its index implies and a header that agrees with it, every
 * snapshot decodes, every tree a snapshot reaches loads and every blob it names is indexed.
 * Data (all packs or a subset): each pack hashes to its name and every blob in it decrypts
 * and hashes to its ID. The report names each damaged file or blob and the snapshots it hurts.
 */
import { fail, isHoldfastError } from '../errors.js';
import { decodeIndex } from './index-file.js';
import { addPacks } from './master-index.js';
import { packSize, type PackedBlob, readPackHeader } from './pack.js';
import { PackFeed, readAndVerifyPacks, warmUpWorkers } from './check-read.js';
import { sameBlobs } from './pack-verify.js';
import { visitTreesAhead } from './check-trees.js';
import { treesReaching } from './reachability.js';
import type { Repository } from './repository.js';
import { decodeSnapshot } from './snapshot.js';

export type ReadDataSubset =
  { kind: 'all' } | { kind: 'percent'; percent: number } | { kind: 'bucket'; n: number; m: number };

export interface CheckProgress {
  phase: 'index' | 'packs' | 'snapshots' | 'trees' | 'read-data';
  done: number;
  total: number;
  bytes?: number;
}

export interface CheckOptions {
  /** Read and verify pack contents; omitted = structure only. */
  readData?: ReadDataSubset;
  onProgress?: (p: CheckProgress) => void;
}

export interface CheckProblem {
  kind: 'index' | 'pack' | 'snapshot' | 'tree' | 'blob';
  id: string;
  message: string;
}

export interface CheckReport {
  errors: CheckProblem[];
  /** Non-critical findings (restic prints them but does not fail): unindexed packs. */
  hints: string[];
  /** IDs of snapshots that reach damaged or missing data; they may not restore fully. */
  damagedSnapshots: string[];
  snapshots: number;
  packs: number;
  packsRead: number;
  bytesRead: number;
}

/** Pack headers being read at once in the structure check. */
const HEADERS_AHEAD = 8;
/** Index files being loaded at once. */
const INDEX_FILES_AHEAD = 4;

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Parses restic's `--read-data-subset`: "n/m" (a bucket) or "P%" (a random share). */
export function parseReadDataSubset(text: string): ReadDataSubset {
  const bucket = /^(\d+)\/(\d+)$/.exec(text);
  if (bucket) {
    const n = Number(bucket[1]);
    const m = Number(bucket[2]);
    if (m < 1 || n < 1 || n > m)
      fail('INVALID_ARGUMENT', `--read-data-subset ${text}: use n/m with 1 <= n <= m`);
    return { kind: 'bucket', n, m };
  }
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct) {
    const percent = Number(pct[1]);
    if (percent <= 0 || percent > 100)
      fail('INVALID_ARGUMENT', `--read-data-subset ${text}: use a percentage in (0, 100]`);
    return { kind: 'percent', percent };
  }
  return fail(
    'INVALID_ARGUMENT',
    `--read-data-subset "${text}": use n/m (e.g. 1/5) or a percentage (e.g. 10%)`,
  );
}

/** The packs a subset reads: bucket n of m by the first byte of the ID, or a random share. */
export function selectPacks(ids: readonly string[], subset: ReadDataSubset, random = Math.random): string[] {
  if (subset.kind === 'all') return [...ids];
  if (subset.kind === 'bucket')
    return ids.filter((id) => parseInt(id.slice(0, 2), 16) % subset.m === subset.n - 1);
  const want = Math.min(ids.length, Math.ceil((ids.length * subset.percent) / 100));
  const pool = [...ids];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, want);
}

export async function checkRepository(repo: Repository, opts: CheckOptions = {}): Promise<CheckReport> {
  const progress = opts.onProgress ?? (() => undefined);
  const errors: CheckProblem[] = [];
  const hints: string[] = [];
  const badTrees = new Set<string>();
  const badData = new Set<string>();
  const subset = opts.readData;
  if (subset) warmUpWorkers(repo);

  // 1. Index files, each on its own so one damaged file does not hide the others; a few are
  // loaded ahead, each decoded and reported in name order.
  const indexed = new Map<string, PackedBlob[]>();
  const indexIds = await repo.listIds('index');
  const loadIndexFile = (id: string) => {
    const p = repo.loadFile('index', id);
    p.catch(() => undefined); // observed in order below
    return p;
  };
  const indexFiles = indexIds.slice(0, INDEX_FILES_AHEAD).map(loadIndexFile);
  let done = 0;
  for (const [k, id] of indexIds.entries()) {
    const file = indexFiles[k];
    delete indexFiles[k];
    if (k + INDEX_FILES_AHEAD < indexIds.length)
      indexFiles.push(loadIndexFile(indexIds[k + INDEX_FILES_AHEAD]));
    try {
      const idx = decodeIndex(await file, `index ${id}`);
      for (const p of idx.packs) {
        const prev = indexed.get(p.id);
        if (!prev) indexed.set(p.id, p.blobs);
        else if (!sameBlobs(prev, p.blobs))
          errors.push({
            kind: 'pack',
            id: p.id,
            message: `pack ${p.id}: listed differently by two index files`,
          });
      }
      addPacks(repo.index, idx.packs);
    } catch (err) {
      if (!isHoldfastError(err, 'INTEGRITY')) throw err;
      errors.push({ kind: 'index', id, message: `index ${id}: ${errText(err)}` });
    }
    progress({ phase: 'index', done: ++done, total: indexIds.length });
  }

  const stored = new Map((await repo.backend.list('pack')).map((f) => [f.name, f.size]));

  // 4. Data, started now so that it runs while the structure is checked: each pack chosen
  // is read as soon as step 2 finds it intact (a random share is chosen once they all are),
  // its hash and every blob in it verified (check-read.ts). The findings are held back
  // until the structure is checked, then taken in pack order: the report is as if it ran after.
  let packsRead = 0;
  let bytesRead = 0;
  const chosen: string[] = [];
  const held: (() => void)[] = [];
  let holding = true;
  const stopReading = new AbortController();
  let reading: Promise<void> = Promise.resolve();
  const startReading = (ids: Iterable<string> | AsyncIterable<string>) => {
    reading = readAndVerifyPacks(
      repo,
      ids,
      (id) => indexed.get(id) ?? [],
      (id) => stored.get(id) ?? 0,
      (i, verdict, size) => {
        const take = () => {
          bytesRead += size;
          const blobs = indexed.get(chosen[i]) ?? [];
          errors.push(...verdict.problems);
          markBad(
            verdict.bad.map((j) => blobs[j]),
            badTrees,
            badData,
          );
          progress({ phase: 'read-data', done: ++packsRead, total: chosen.length, bytes: bytesRead });
        };
        if (holding) held.push(take);
        else take();
      },
      { signal: stopReading.signal },
    );
    reading.catch(() => undefined); // awaited after the structure
  };
  const feed = subset && subset.kind !== 'percent' ? new PackFeed() : undefined;
  if (feed) startReading(feed);

  const intact: string[] = [];
  const roots = new Map<string, string>(); // snapshot ID -> root tree
  let snapIds: string[];
  try {
    // 2. Packs: present, of the right size, with a header that agrees with the index.
    // Headers are read a few at a time ahead of the loop, which takes them in order.
    const headerOf = (id: string, size: number) =>
      readPackHeader(repo.key, id, size, (n) =>
        repo.backend.load({ type: 'pack', name: id }, size - n, n),
      ).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    const toRead = [...indexed].filter(([id, blobs]) => stored.get(id) === packSize(blobs));
    const headers = new Map<string, Promise<PackedBlob[] | Error>>();
    const readAhead = () => {
      for (const [id] of toRead.splice(0, HEADERS_AHEAD - headers.size))
        headers.set(id, headerOf(id, stored.get(id) ?? 0));
    };
    done = 0;
    for (const [id, blobs] of indexed) {
      const size = stored.get(id);
      progress({ phase: 'packs', done: ++done, total: indexed.size });
      if (size === undefined) {
        errors.push({
          kind: 'pack',
          id,
          message: `pack ${id}: missing from the repository but listed in the index`,
        });
        markBad(blobs, badTrees, badData);
        continue;
      }
      const expected = packSize(blobs);
      if (size !== expected) {
        errors.push({
          kind: 'pack',
          id,
          message: `pack ${id}: size is ${size} bytes, the index implies ${expected}`,
        });
        markBad(blobs, badTrees, badData);
        continue;
      }
      readAhead();
      const read = headers.get(id) ?? headerOf(id, size);
      headers.delete(id);
      try {
        const header = await read;
        if (header instanceof Error) throw header;
        if (!sameBlobs(header, blobs)) throw new Error('its header does not match the index');
        intact.push(id);
        if (feed && subset && selectPacks([id], subset).length > 0) {
          chosen.push(id);
          feed.push(id);
        }
      } catch (err) {
        errors.push({ kind: 'pack', id, message: `pack ${id}: ${errText(err)}` });
        markBad(blobs, badTrees, badData);
      }
    }
    feed?.close();
    for (const id of stored.keys()) {
      if (!indexed.has(id))
        hints.push(`pack ${id}: not referenced in any index (run "holdfast prune" to remove it)`);
    }
    if (subset && !feed) {
      chosen.push(...selectPacks(intact, subset));
      startReading(chosen);
    }

    // 3. Snapshots and every tree they reach.
    snapIds = await repo.listIds('snapshot');
    done = 0;
    for (const id of snapIds) {
      try {
        roots.set(id, decodeSnapshot(await repo.loadFile('snapshot', id)).tree);
      } catch (err) {
        if (!isHoldfastError(err, 'INTEGRITY')) throw err;
        errors.push({ kind: 'snapshot', id, message: `snapshot ${id}: ${errText(err)}` });
      }
      progress({ phase: 'snapshots', done: ++done, total: snapIds.length });
    }
    let trees = 0;
    await visitTreesAhead(repo, roots.values(), (id, nodes, error) => {
      progress({ phase: 'trees', done: ++trees, total: 0 });
      if (!nodes) {
        if (!badTrees.has(id)) errors.push({ kind: 'tree', id, message: `tree ${id}: ${errText(error)}` });
        badTrees.add(id);
        return;
      }
      for (const n of nodes) {
        const name = n.name.toString('utf8');
        if (n.type === 'dir' && !n.subtree)
          errors.push({ kind: 'tree', id, message: `tree ${id}: directory "${name}" has no subtree` });
        for (const b of n.content ?? []) {
          if (repo.index.data.has(b) || badData.has(b)) continue;
          badData.add(b);
          errors.push({
            kind: 'blob',
            id: b,
            message: `tree ${id}: file "${name}": data blob ${b} is not in the index`,
          });
        }
      }
    });
  } catch (err) {
    feed?.close();
    stopReading.abort();
    throw err;
  }
  // The data's findings, in pack order, after the structure's.
  holding = false;
  for (const take of held.splice(0)) take();
  await reading;

  const rootList = [...roots.values()];
  const hurt = await treesReaching(repo, rootList, badTrees, badData);
  const damagedSnapshots = [...roots].filter(([, tree]) => hurt.has(tree)).map(([id]) => id);
  return {
    errors,
    hints,
    damagedSnapshots,
    snapshots: snapIds.length,
    packs: stored.size,
    packsRead,
    bytesRead,
  };
}

function markBad(blobs: readonly PackedBlob[], badTrees: Set<string>, badData: Set<string>): void {
  for (const b of blobs) (b.type === 'tree' ? badTrees : badData).add(b.id);
}
