/**
 * check --read-data's reading loop. On a local repository each pack is read in pieces of
 * about 1 MiB cut at blob boundaries (fresh 16 MiB buffers per pack cost page faults and
 * memory): this thread hashes the pack as its pieces arrive and checks the header, while the
 * worker threads open the blobs of each piece, this thread too when they have enough queued.
 * Where the backend reads into a caller's buffer (loadInto), a few pieces are read at once
 * into one ring of shared memory (shared-ring.ts) that the workers read in place, so the same
 * pages serve the whole check; otherwise each piece comes in a buffer of its own, handed over
 * to a worker without a copy. Remote packs are read whole, one request each, and verified
 * whole on a worker. A pack whose layout is unusual, whose piece cannot be read or whose
 * header lies outside its last piece is read again whole and verified by verifyPack, so
 * every finding is exactly what verifyPack reports. Without workers the same runs on this
 * thread, the next read under way meanwhile. Verdicts come in pack order.
 */
import { createHash } from 'node:crypto';
import type { Backend } from '../backends/backend.js';
import { SharedRing } from './shared-ring.js';
import { combinePieceVerdicts, type Piece, planPieces } from './pack-pieces.js';
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
import { profiled, profiledAsync } from './profile.js';
import type { Repository } from './repository.js';
import type { WorkerKey } from './worker-protocol.js';

/** Target bytes per ranged read of a local pack (a single larger blob is read alone). */
const PIECE_BYTES = 1024 * 1024;
/** Bytes handed to each worker and not yet verified before reading waits. */
const QUEUED_PER_WORKER = 2 * PIECE_BYTES;
/** The largest piece this thread verifies itself when the workers are busy. */
const INLINE_PIECE_MAX = 1.5 * PIECE_BYTES;
/** Bytes of a pack read at once into the ring (its pieces are then verified one by one). */
const READ_BYTES = 4 * PIECE_BYTES;
/** Reads of a pack started ahead of the one being hashed. */
const READS_AHEAD = 1;
/** Size of the ring pieces are read into (shared-ring.ts); a larger read gets its own buffer. */
const RING_BYTES = 12 * 1024 * 1024;

/** Bounds the bytes handed to workers and not yet verified. */
class ByteBudget {
  private used = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(private readonly max: number) {}

  async take(n: number): Promise<void> {
    while (this.used > 0 && this.used + n > this.max) await new Promise<void>((r) => this.waiters.push(r));
    this.used += n;
  }

  /** True when take(n) would wait now. */
  full(n: number): boolean {
    return this.used > 0 && this.used + n > this.max;
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

/** A piece's bytes: in the ring (shared with the workers) or a buffer of their own. */
interface PieceBytes {
  bytes: Buffer;
  shared: boolean;
  /** Called once the piece is verified: the last piece of a read gives its ring span back. */
  release: () => void;
}

/** One ranged read of a pack: pieces `first` .. `first + count - 1`, back to back. */
class PackRead {
  private left: number;
  private given = false;

  constructor(
    readonly first: number,
    readonly count: number,
    readonly start: number,
    /** The bytes read; a ring span when `view` is set. */
    readonly bytes: Promise<Buffer>,
    private readonly ring: SharedRing | undefined,
    private readonly view: Buffer | undefined,
  ) {
    this.left = count;
  }

  /** True when the bytes are a span of the ring (shared with the workers, not moved). */
  get inRing(): boolean {
    return this.view !== undefined;
  }

  /** One of its pieces is verified (or will never be): the last one gives the ring span back. */
  release(): void {
    if (--this.left === 0) this.drop();
  }

  /** Gives the ring span back now (no piece of it is with a worker), once the read is over. */
  drop(): void {
    if (this.given || !this.ring || !this.view) return;
    this.given = true;
    const { ring, view } = this;
    void this.bytes.then(
      () => ring.give(view),
      () => undefined, // a failed read gave it back already
    );
  }
}

/** Groups consecutive pieces into reads of at most `max` bytes (a larger piece is read alone). */
function groupPieces(pieces: readonly Piece[], max: number): { first: number; count: number }[] {
  const groups: { first: number; count: number }[] = [];
  for (let k = 0; k < pieces.length; k++) {
    const g = groups[groups.length - 1];
    if (g && pieces[k].end - pieces[g.first].start <= max) g.count++;
    else groups.push({ first: k, count: 1 });
  }
  return groups;
}

class PackReader {
  private readonly workerKey: WorkerKey;
  private readonly budget: ByteBudget;
  /** Reads into a caller's buffer, where the backend offers it. */
  private readonly loadInto: Backend['loadInto'];
  private readonly ring: SharedRing;

  constructor(private readonly repo: Repository) {
    this.workerKey = repo.workerKey;
    this.budget = new ByteBudget(checkThreads(repo) * QUEUED_PER_WORKER);
    this.loadInto = repo.backend.loadInto?.bind(repo.backend);
    this.ring = new SharedRing(RING_BYTES);
  }

  /**
   * Verifies a whole pack (`pack`) or only the blobs in a piece of one (`blobs`, offsets
   * relative to the piece) on a worker (a buffer of its own moves there, the ring is shared)
   * or inline. Resolves once the job is handed over (when the budget allows), to its
   * verdict's promise; the piece is released once verified.
   */
  private async submit(
    what: 'pack' | 'blobs',
    id: string,
    piece: PieceBytes,
    blobs: readonly PackedBlob[],
  ): Promise<{ verdict: Promise<PackVerdict> }> {
    const { bytes, shared } = piece;
    const pool = this.repo.workerPool;
    // Without workers, or when they have enough queued, this thread verifies a piece itself
    // rather than wait (a large one would hold up reading and hashing for too long).
    const inline =
      !pool || (what === 'blobs' && bytes.length <= INLINE_PIECE_MAX && this.budget.full(bytes.length));
    if (!pool || inline) {
      const verify = what === 'pack' ? verifyPack : verifyBlobs;
      try {
        return { verdict: Promise.resolve(verify(this.repo.key, id, bytes, blobs)) };
      } finally {
        piece.release();
      }
    }
    const n = bytes.length;
    await this.budget.take(n);
    const data = shared ? bytes : transferable(bytes);
    const op = what === 'pack' ? ('verifyPack' as const) : ('verifyBlobs' as const);
    const job = { op, key: this.workerKey, data, id, blobs: [...blobs] };
    const verdict = pool
      .run<{ verdict: PackVerdict }>(job, shared ? [] : [data.buffer as ArrayBuffer], checkThreads(this.repo))
      .then((r) => r.verdict)
      .finally(() => {
        this.budget.give(n);
        piece.release();
      });
    verdict.catch(() => undefined); // observed by the caller, in order
    return { verdict };
  }

  private load(id: string, offset?: number, length?: number): Promise<Buffer> {
    return this.repo.backend.load({ type: 'pack', name: id }, offset, length);
  }

  /**
   * Verifies a whole local pack on a worker that reads the file itself (nothing passes through
   * this thread); anything that goes wrong there (a missing or unreadable file) is read again
   * the usual way, so the finding is the one that path gives.
   */
  async file(
    id: string,
    blobs: readonly PackedBlob[],
    path: string,
  ): Promise<{ size: number; verdict: PackVerdict }> {
    const pool = this.repo.workerPool!;
    const job = { op: 'verifyPackFile' as const, key: this.workerKey, path, id, blobs: [...blobs] };
    try {
      const r = await pool.run<{ verdict: PackVerdict; size?: number }>(job);
      return { size: r.size ?? 0, verdict: r.verdict };
    } catch {
      const { size, verdict } = await this.whole(id, blobs);
      return { size, verdict: await verdict };
    }
  }

  /** Reads and verifies one pack whole; resolves once it is handed over, to its verdict's promise. */
  async whole(
    id: string,
    blobs: readonly PackedBlob[],
  ): Promise<{ size: number; verdict: Promise<PackVerdict> }> {
    const bytes = await this.load(id);
    const size = bytes.length;
    const piece = { bytes, shared: false, release: () => undefined };
    const { verdict } = await this.submit('pack', id, piece, blobs);
    return { size, verdict };
  }

  /**
   * Starts reading pieces `first` .. `first + count - 1` of a pack in one ranged read: into
   * the ring when the backend reads into a buffer and they fit (waiting for room when
   * `wait`, else undefined when there is none now), else into a buffer of their own.
   */
  private async startRead(
    id: string,
    pieces: readonly Piece[],
    group: { first: number; count: number },
    wait: boolean,
  ): Promise<PackRead | undefined> {
    const start = pieces[group.first].start;
    const n = pieces[group.first + group.count - 1].end - start;
    const { ring, loadInto } = this;
    if (n <= ring.size) {
      const view = wait ? await ring.take(n) : ring.tryTake(n);
      if (!view) return undefined;
      const h = { type: 'pack' as const, name: id };
      // Without loadInto the bytes come in a buffer of their own, copied into the ring and
      // dropped at once (the same memory then serves the next piece: a buffer handed to a
      // worker lives until that thread collects it).
      const read = loadInto
        ? loadInto(h, start, view).then(() => view)
        : this.load(id, start, n).then((buf) => {
            const got = Math.min(buf.length, n);
            view.set(buf.subarray(0, got));
            return view.subarray(0, got); // a short read sends the pack back to whole()
          });
      const bytes = profiledAsync('read', n, () => read).then(
        (got) => got,
        (err: unknown) => {
          ring.give(view);
          throw err;
        },
      );
      bytes.catch(() => undefined); // observed when its turn comes
      return new PackRead(group.first, group.count, start, bytes, ring, view);
    }
    const bytes = this.load(id, start, n);
    bytes.catch(() => undefined); // observed when its turn comes
    return new PackRead(group.first, group.count, start, bytes, undefined, undefined);
  }

  /**
   * Reads a pack piece by piece (several pieces per ranged read when they go to the ring), a
   * read ahead; resolves once every piece is handed over (or verified, without workers), to
   * the promise of its verdict. Falls back to whole() when needed.
   */
  async pieces(
    id: string,
    blobs: readonly PackedBlob[],
    pieces: readonly Piece[],
  ): Promise<{ size: number; verdict: Promise<PackVerdict> }> {
    const hash = createHash('sha256');
    const jobs: Promise<{ piece: Piece; verdict: PackVerdict }>[] = [];
    let header: PackProblem | undefined;
    // Several pieces in one read only with loadInto (else that read would be one large
    // fresh buffer).
    const groups = groupPieces(pieces, this.loadInto ? READ_BYTES : 0);
    const reads: PackRead[] = [];
    for (let g = 0; g < groups.length; g++) {
      // This read (waiting for room in the ring: every piece before it is handed over, so
      // room comes), then the next ones while there is room.
      if (reads.length === g) reads.push((await this.startRead(id, pieces, groups[g], true)) as PackRead);
      while (reads.length < groups.length && reads.length <= g + READS_AHEAD) {
        const more = await this.startRead(id, pieces, groups[reads.length], false);
        if (!more) break;
        reads.push(more);
      }
      const read = reads[g];
      let bytes: Buffer;
      try {
        bytes = await read.bytes;
      } catch {
        bytes = Buffer.alloc(0);
      }
      for (let k = read.first; k < read.first + read.count; k++) {
        const piece = pieces[k];
        const at = piece.start - read.start;
        const own = bytes.subarray(at, at + piece.end - piece.start);
        const last = k + 1 === pieces.length;
        if (own.length !== piece.end - piece.start || (last && !holdsHeader(own))) {
          // Back to the whole pack: nothing of these reads goes to a worker any more.
          await Promise.allSettled(jobs);
          for (const r of reads.slice(g)) r.drop();
          return this.whole(id, blobs);
        }
        profiled('hash', own.length, () => hash.update(own));
        if (last) header = headerProblem(this.repo.key, id, own, blobs);
        const { verdict } = await this.submit(
          'blobs',
          id,
          { bytes: own, shared: read.inRing, release: () => read.release() },
          piece.blobs.map((b) => b.blob),
        );
        const job = verdict.then((v) => ({ piece, verdict: v }));
        job.catch(() => undefined); // observed below
        jobs.push(job);
      }
    }
    const size = pieces[pieces.length - 1].end;
    const verdict = Promise.all(jobs).then((done) => {
      const digest = hash.digest('hex');
      return combinePieceVerdicts([packHashProblem(id, digest), header], done);
    });
    verdict.catch(() => undefined); // observed by the caller, in order
    return { size, verdict };
  }
}

/**
 * Worker threads the check uses: one fewer than the pool has, since this thread verifies
 * pieces too when they are busy (at least one). On two cores: one worker, ~20 MB less.
 */
function checkThreads(repo: Repository): number {
  return Math.max(1, repo.workerCount - 1);
}

/**
 * Starts the worker threads with an empty job each, so that they load while the structure
 * is checked rather than when the first pack is ready (starting one took 0.5–1 s here).
 */
export function warmUpWorkers(repo: Repository): void {
  const pool = repo.workerPool;
  if (!pool) return;
  const key = repo.workerKey;
  for (let i = 0; i < checkThreads(repo); i++) {
    const data = new Uint8Array(0);
    // A worker that cannot start fails the real jobs too.
    pool
      .run({ op: 'verifyBlobs', key, data, id: '', blobs: [] }, [data.buffer], checkThreads(repo))
      .catch(() => undefined);
  }
}

/**
 * Pack IDs given one by one while they are found (check's structure step finds packs intact
 * one after another), taken by readAndVerifyPacks as they come.
 */
export class PackFeed implements AsyncIterable<string> {
  private readonly ids: string[] = [];
  private closed = false;
  private wake: (() => void) | undefined;

  push(id: string): void {
    this.ids.push(id);
    this.wake?.();
  }

  /** No more IDs will come. */
  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (let i = 0; ; i++) {
      while (i >= this.ids.length && !this.closed) await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
      if (i >= this.ids.length) return;
      yield this.ids[i];
    }
  }
}

/** Options of readAndVerifyPacks. */
export interface ReadPacksOptions {
  /** Size of the ranged reads of a local pack (tests). */
  pieceBytes?: number;
  /** Stops reading (the run then resolves after the verdicts of the packs already read). */
  signal?: AbortSignal;
}

/**
 * Reads and verifies the packs `ids` (with their indexed blobs and stored sizes; a PackFeed
 * gives them as they are found); calls `onVerdict` for each in order, with the bytes read.
 * A backend error fails the run.
 */
export async function readAndVerifyPacks(
  repo: Repository,
  ids: Iterable<string> | AsyncIterable<string>,
  blobsOf: (id: string) => readonly PackedBlob[],
  sizeOf: (id: string) => number,
  onVerdict: (i: number, verdict: PackVerdict, bytes: number) => void,
  opts: ReadPacksOptions = {},
): Promise<void> {
  const pieceBytes = opts.pieceBytes ?? PIECE_BYTES;
  const reader = new PackReader(repo);
  const local = repo.backend.location.startsWith('/');
  // Where the workers can read the pack files themselves, each verifies whole packs (two
  // queued per worker), as restic does per goroutine: nothing is copied between threads.
  const pathOf = repo.workerPool && opts.pieceBytes === undefined ? repo.backend.localPath : undefined;
  const filesQueued = new ByteBudget(2 * repo.workerCount);
  let delivered = Promise.resolve();
  let failed = false;
  let i = 0;
  for await (const id of ids) {
    if (failed || opts.signal?.aborted) break;
    const blobs = blobsOf(id);
    if (pathOf) {
      await filesQueued.take(1);
      const job = reader.file(id, blobs, pathOf.call(repo.backend, { type: 'pack', name: id }));
      void job.finally(() => filesQueued.give(1)).catch(() => undefined);
      const k = i++;
      delivered = delivered.then(async () => {
        const { size, verdict } = await job;
        onVerdict(k, verdict, size);
      });
      delivered.catch(() => {
        failed = true;
      });
      continue;
    }
    const plan = local ? planPieces(blobs, sizeOf(id), pieceBytes) : undefined;
    let read: { size: number; verdict: Promise<PackVerdict> };
    try {
      read = await (plan && plan.length > 1 ? reader.pieces(id, blobs, plan) : reader.whole(id, blobs));
    } catch (err) {
      read = { size: 0, verdict: Promise.reject(err) };
    }
    const { size, verdict } = read;
    const k = i++;
    delivered = delivered.then(async () => onVerdict(k, await verdict, size));
    delivered.catch(() => {
      failed = true; // stop reading; the error is thrown below, after earlier verdicts
    });
  }
  await delivered;
}
