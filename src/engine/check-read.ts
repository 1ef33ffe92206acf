/**
 * check --read-data's reading loop. On a local repository each pack is read in pieces of
 * about 1 MiB cut at blob boundaries (fresh 16 MiB buffers per pack cost page faults, about
 * a third of the CPU time of the whole check here, and memory): this thread hashes the pack
 * as its pieces arrive and checks the header, while the worker threads open the blobs of
 * each piece (the piece's buffer is handed over, not copied). Remote packs are read whole,
 * one request each, and verified whole on a worker. A pack whose layout is unusual, whose
 * piece cannot be read or whose header lies outside its last piece is read again whole and
 * verified by verifyPack, so every finding is exactly what verifyPack reports. Without
 * workers the same runs on this thread, the next piece being read meanwhile. Verdicts come
 * in pack order.
 */
import { createHash } from 'node:crypto';
import type { PackedBlob } from './pack.js';
import {
  headerProblem,
  holdsHeader,
  packHashProblem,
  type PackProblem,
  type PackVerdict,
  verifyBlobs,
  verifyPack,
} from './pack-verify.js';
import { profiled } from './profile.js';
import type { Repository } from './repository.js';
import { type WorkerKey, workerKeyOf } from './worker-protocol.js';

/** Target bytes per ranged read of a local pack (a single larger blob is read alone). */
const PIECE_BYTES = 1024 * 1024;
/** Bytes handed to each worker and not yet verified before reading waits. */
const QUEUED_PER_WORKER = 2 * PIECE_BYTES;

/** Part of a pack read in one load: [start, end), and the blobs wholly inside it. */
interface Piece {
  start: number;
  end: number;
  /** Indexes into the pack's blob list, with offsets relative to `start`. */
  blobs: { index: number; blob: PackedBlob }[];
}

/**
 * Cuts a pack of `size` bytes into pieces of about `target` bytes at blob boundaries, the
 * header in the last one; undefined unless the blobs lie back to back from offset 0 (then the
 * pack is verified whole).
 */
export function planPieces(blobs: readonly PackedBlob[], size: number, target: number): Piece[] | undefined {
  const order = blobs.map((blob, index) => ({ index, blob })).sort((a, b) => a.blob.offset - b.blob.offset);
  const pieces: Piece[] = [];
  let cur: Piece = { start: 0, end: 0, blobs: [] };
  for (const { index, blob } of order) {
    if (blob.offset !== cur.end) return undefined;
    if (cur.blobs.length > 0 && cur.end + blob.length - cur.start > target) {
      pieces.push(cur);
      cur = { start: cur.end, end: cur.end, blobs: [] };
    }
    cur.blobs.push({ index, blob: { ...blob, offset: blob.offset - cur.start } });
    cur.end += blob.length;
  }
  if (cur.end > size - 4) return undefined;
  cur.end = size;
  pieces.push(cur);
  return pieces;
}

/** Bounds the bytes handed to workers and not yet verified. */
class ByteBudget {
  private used = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(private readonly max: number) {}

  async take(n: number): Promise<void> {
    while (this.used > 0 && this.used + n > this.max) await new Promise<void>((r) => this.waiters.push(r));
    this.used += n;
  }

  give(n: number): void {
    this.used -= n;
    this.waiters.splice(0).forEach((w) => w());
  }
}

/** `b` itself when it owns its whole ArrayBuffer (so it can be transferred), else a copy that does. */
function transferable(b: Buffer): Uint8Array {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b;
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

class PackReader {
  private readonly workerKey: WorkerKey;
  private readonly budget: ByteBudget;

  constructor(private readonly repo: Repository) {
    this.workerKey = workerKeyOf(repo.key);
    this.budget = new ByteBudget(Math.max(1, repo.workerCount) * QUEUED_PER_WORKER);
  }

  /**
   * Verifies a whole pack (`pack`) or only the blobs in a piece of one (`blobs`, offsets
   * relative to the piece) on a worker (the buffer moves there) or inline. Resolves once the
   * job is handed over (when the budget allows), to its verdict's promise.
   */
  private async submit(
    what: 'pack' | 'blobs',
    id: string,
    bytes: Buffer,
    blobs: readonly PackedBlob[],
  ): Promise<{ verdict: Promise<PackVerdict> }> {
    const pool = this.repo.workerPool;
    if (!pool) {
      const verify = what === 'pack' ? verifyPack : verifyBlobs;
      return { verdict: Promise.resolve(verify(this.repo.key, id, bytes, blobs)) };
    }
    const n = bytes.length;
    await this.budget.take(n);
    const data = transferable(bytes);
    const op = what === 'pack' ? ('verifyPack' as const) : ('verifyBlobs' as const);
    const job = { op, key: this.workerKey, data, id, blobs: [...blobs] };
    const verdict = pool
      .run<{ verdict: PackVerdict }>(job, [data.buffer as ArrayBuffer])
      .then((r) => r.verdict)
      .finally(() => this.budget.give(n));
    verdict.catch(() => undefined); // observed by the caller, in order
    return { verdict };
  }

  private load(id: string, offset?: number, length?: number): Promise<Buffer> {
    return this.repo.backend.load({ type: 'pack', name: id }, offset, length);
  }

  /** Reads and verifies one pack whole; resolves once it is handed over, to its verdict's promise. */
  async whole(
    id: string,
    blobs: readonly PackedBlob[],
  ): Promise<{ size: number; verdict: Promise<PackVerdict> }> {
    const bytes = await this.load(id);
    const size = bytes.length;
    const { verdict } = await this.submit('pack', id, bytes, blobs);
    return { size, verdict };
  }

  /**
   * Reads a pack piece by piece; resolves once every piece is handed over (or verified,
   * without workers), to the promise of its verdict. Falls back to whole() when needed.
   */
  async pieces(
    id: string,
    blobs: readonly PackedBlob[],
    pieces: readonly Piece[],
  ): Promise<{ size: number; verdict: Promise<PackVerdict> }> {
    const hash = createHash('sha256');
    const jobs: Promise<{ piece: Piece; verdict: PackVerdict }>[] = [];
    let header: PackProblem | undefined;
    let next: Promise<Buffer> | undefined = this.loadPiece(id, pieces[0]);
    for (let k = 0; k < pieces.length; k++) {
      let bytes: Buffer;
      try {
        bytes = await (next as Promise<Buffer>);
      } catch {
        bytes = Buffer.alloc(0);
      }
      const piece = pieces[k];
      next = k + 1 < pieces.length ? this.loadPiece(id, pieces[k + 1]) : undefined;
      const last = k + 1 === pieces.length;
      if (bytes.length !== piece.end - piece.start || (last && !holdsHeader(bytes))) {
        next?.catch(() => undefined);
        await Promise.allSettled(jobs);
        return this.whole(id, blobs);
      }
      profiled('hash', bytes.length, () => hash.update(bytes));
      if (last) header = headerProblem(this.repo.key, id, bytes, blobs);
      const { verdict } = await this.submit(
        'blobs',
        id,
        bytes,
        piece.blobs.map((b) => b.blob),
      );
      const job = verdict.then((v) => ({ piece, verdict: v }));
      job.catch(() => undefined); // observed below
      jobs.push(job);
    }
    const size = pieces[pieces.length - 1].end;
    const verdict = Promise.all(jobs).then((done) => {
      const digest = hash.digest('hex');
      return combine([packHashProblem(id, digest), header], done);
    });
    verdict.catch(() => undefined); // observed by the caller, in order
    return { size, verdict };
  }

  private loadPiece(id: string, piece: Piece): Promise<Buffer> {
    const p = this.load(id, piece.start, piece.end - piece.start);
    p.catch(() => undefined); // observed when its turn comes
    return p;
  }
}

/** A pack's verdict from its own findings and its pieces': blobs in the pack's blob order. */
function combine(
  own: (PackProblem | undefined)[],
  pieces: readonly { piece: Piece; verdict: PackVerdict }[],
): PackVerdict {
  const failed: { index: number; problem: PackProblem }[] = [];
  for (const { piece, verdict } of pieces)
    verdict.bad.forEach((j, n) => failed.push({ index: piece.blobs[j].index, problem: verdict.problems[n] }));
  failed.sort((a, b) => a.index - b.index);
  const problems = own.filter((p): p is PackProblem => p !== undefined);
  return { problems: [...problems, ...failed.map((f) => f.problem)], bad: failed.map((f) => f.index) };
}

/**
 * Starts the worker threads with an empty job each, so that they load while the structure
 * is checked rather than when the first pack is ready (starting one took 0.5–1 s here).
 */
export function warmUpWorkers(repo: Repository): void {
  const pool = repo.workerPool;
  if (!pool) return;
  const key = workerKeyOf(repo.key);
  for (let i = 0; i < repo.workerCount; i++) {
    const data = new Uint8Array(0);
    // A worker that cannot start fails the real jobs too.
    pool.run({ op: 'verifyBlobs', key, data, id: '', blobs: [] }, [data.buffer]).catch(() => undefined);
  }
}

/**
 * Reads and verifies the packs `ids` (with their indexed blobs and stored sizes); calls
 * `onVerdict` for each in order, with the bytes read. A backend error fails the run.
 * `pieceBytes` (tests) sets the size of the ranged reads of a local pack.
 */
export async function readAndVerifyPacks(
  repo: Repository,
  ids: readonly string[],
  blobsOf: (id: string) => readonly PackedBlob[],
  sizeOf: (id: string) => number,
  onVerdict: (i: number, verdict: PackVerdict, bytes: number) => void,
  pieceBytes = PIECE_BYTES,
): Promise<void> {
  const reader = new PackReader(repo);
  const local = repo.backend.location.startsWith('/');
  let delivered = Promise.resolve();
  let failed = false;
  for (let i = 0; i < ids.length && !failed; i++) {
    const id = ids[i];
    const blobs = blobsOf(id);
    const plan = local ? planPieces(blobs, sizeOf(id), pieceBytes) : undefined;
    let read: { size: number; verdict: Promise<PackVerdict> };
    try {
      read = await (plan && plan.length > 1 ? reader.pieces(id, blobs, plan) : reader.whole(id, blobs));
    } catch (err) {
      read = { size: 0, verdict: Promise.reject(err) };
    }
    const { size, verdict } = read;
    delivered = delivered.then(async () => onVerdict(i, await verdict, size));
    delivered.catch(() => {
      failed = true; // stop reading; the error is thrown below, after earlier verdicts
    });
  }
  await delivered;
}
