/**
 * An open restic-format repository: keys, config, the master index, and the blob store
 * that hides packs behind "save blob / load blob" (restic-format.md §3–§7).
 * This is the one engine object with a lifetime (open packs, pending uploads).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Backend, FileType } from '../backends/backend.js';
import { fail } from '../errors.js';
import { type BatchSlice, type SealedBatch, sealBatch } from './blob-batch.js';
import { drainBlockPool } from './block-pool.js';
import { blobId, openBlob, type SealedInto, sealBlobInto } from './blob-codec.js';
import { SharedRing } from './shared-ring.js';
import { decodeUnpacked, encodeUnpacked } from './compression.js';
import {
  calibrateScrypt,
  type MasterKey,
  newMasterKey,
  open,
  type ScryptParams,
  SEAL_OVERHEAD,
  seal,
} from './crypto.js';
import { decodeIndex, encodeIndex, type IndexedPack } from './index-file.js';
import { addKey, openWithPassword } from './keys.js';
import {
  addPacks,
  type BlobLocation,
  emptyMasterIndex,
  lookupBlob,
  type MasterIndex,
} from './master-index.js';
import { type BlobType, encodeHeader } from './pack.js';
import { copyToSpool, discardSpool, openSpool, type PackSpool, sealSpool } from './pack-spool.js';
import { formatPolynomial, isIrreducible, parsePolynomial, randomPolynomial } from './polynomial.js';
import { collectGarbageEvery } from './gc-hint.js';
import { profiled, profiledAsync } from './profile.js';
import { MAX_CHUNK } from './chunker.js';
import { scanCandidates } from './chunker-wasm.js';
import { defaultWorkerCount, sharedPool, type WorkerPool } from './worker-pool.js';
import { type WorkerKey, workerKeyOf } from './worker-protocol.js';

export interface RepoConfig {
  version: number;
  id: string;
  chunkerPolynomial: bigint;
}

export interface InitOptions {
  /** Copy the chunker polynomial of another repository so that copies deduplicate. */
  chunkerPolynomial?: bigint;
  scrypt?: ScryptParams;
  version?: 1 | 2;
}

export interface RepositoryOptions {
  /** Target pack size in bytes (restic: 16 MiB). */
  packSize?: number;
  /** Compress data blobs (restic "auto"); trees are always compressed in v2. */
  compression?: 'auto' | 'off';
  /** Packs being uploaded at once before saveBlob waits. */
  uploadConcurrency?: number;
  /**
   * Worker threads for hashing, sealing, opening and verifying blobs; 0 does all of it on the
   * calling thread. Default: HOLDFAST_WORKERS, else one per core (at most 4).
   */
  workers?: number;
  /** Plaintext bytes being hashed and sealed at once before submitBlob waits (default 8 MiB). */
  maxInFlightBytes?: number;
}

export interface SaveResult {
  id: string;
  added: boolean;
}

/** Blobs smaller than this are hashed and sealed inline: a round trip to a worker costs more. */
const INLINE_BELOW = 4096;
/** Index files loaded at once. */
const INDEX_LOADS_AHEAD = 8;
/**
 * Blobs smaller than this (whole small files) are hashed on the calling thread: hashing a few
 * kilobytes costs less than the round trip to a worker, and the caller learns the ID at once.
 * Data blobs this small are then sealed in batches (blob-batch.ts). Only blobs of the same
 * length can have the same ID, so the batched blobs' dedup decisions, taken at once, cannot
 * race with those of larger blobs, taken in submission order.
 */
const HASH_INLINE_BELOW = 256 * 1024;
/** A batch of small data blobs is sealed once it holds this many bytes or blobs (or at flush). */
const BATCH_BYTES = 1024 * 1024;
const BATCH_BLOBS = 4096;

/** The two buffers of a batch, in shared memory: a worker reads one and writes the other. */
interface BatchBuffers {
  input: Buffer;
  output: Buffer;
}

function newBatchBuffers(): BatchBuffers {
  const inputSize = BATCH_BYTES + HASH_INLINE_BELOW;
  const outputSize = inputSize + BATCH_BLOBS * SEAL_OVERHEAD;
  return {
    input: Buffer.from(new SharedArrayBuffer(inputSize)),
    output: Buffer.from(new SharedArrayBuffer(outputSize)),
  };
}

/** Small data blobs gathered for one sealing job, and the promise of their append. */
interface OpenBatch {
  bufs: BatchBuffers;
  used: number;
  ids: string[];
  slices: BatchSlice[];
  appended: Promise<void>;
  settle: { resolve: () => void; reject: (err: unknown) => void };
}

/** A blob being appended to a pack: its entry's fields and its plaintext length. */
interface Appended {
  id: string;
  length: number;
  uncompressedLength: number;
  plainLength: number;
}

/** True when `b` views the whole of its ArrayBuffer (so it can move to a worker as it is). */
function ownsMemory(b: Uint8Array): boolean {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
}

/** A copy of `b` that owns its whole ArrayBuffer, so it can be handed to a worker. */
function ownedCopy(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.length);
}

/**
 * A blob's plaintext: one buffer, or the views of shared memory (block-pool.ts) it is made
 * of, in order.
 */
export type Plaintext = Uint8Array | readonly Uint8Array[];

function plainLengthOf(p: Plaintext): number {
  if (!Array.isArray(p)) return (p as Uint8Array).length;
  let n = 0;
  for (const part of p as readonly Uint8Array[]) n += part.length;
  return n;
}

/** The parts of a plaintext that lies in shared memory (workers read it in place), else undefined. */
function sharedParts(p: Plaintext): readonly Uint8Array[] | undefined {
  if (Array.isArray(p)) return p as readonly Uint8Array[];
  return (p as Uint8Array).buffer instanceof SharedArrayBuffer ? [p as Uint8Array] : undefined;
}

export interface SaveStats {
  blobsAdded: number;
  /** Plaintext bytes of new blobs. */
  dataAdded: number;
  /** Bytes written into packs (sealed, compressed). */
  dataAddedPacked: number;
}

/**
 * A pack being filled: sealed blobs are copied into one buffer as they come (so each is freed
 * at once and no concatenation is needed); the buffer is allocated large but the memory
 * is only touched (and counted in RSS) as far as it is written.
 */
function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function initRepository(
  backend: Backend,
  password: Buffer,
  opts: InitOptions = {},
): Promise<Repository> {
  await backend.create();
  const master = newMasterKey();
  const keyId = await addKey(backend, master, password, opts.scrypt ?? (await calibrateScrypt()));
  const config: RepoConfig = {
    version: opts.version ?? 2,
    id: randomBytes(32).toString('hex'),
    chunkerPolynomial: opts.chunkerPolynomial ?? randomPolynomial(),
  };
  const json = Buffer.from(
    JSON.stringify({
      version: config.version,
      id: config.id,
      chunker_polynomial: formatPolynomial(config.chunkerPolynomial),
    }),
  );
  await backend.save({ type: 'config', name: '' }, seal(master, json));
  const repo = new Repository(backend, master, config);
  repo.keyId = keyId;
  return repo;
}

export async function openRepository(
  backend: Backend,
  password: Buffer,
  opts: RepositoryOptions & { keyHint?: string } = {},
): Promise<Repository> {
  let sealedConfig: Buffer;
  try {
    sealedConfig = await backend.load({ type: 'config', name: '' });
  } catch (err) {
    if (backend.isNotFound(err))
      fail('REPO_NOT_FOUND', `no repository at ${backend.location} (run "holdfast init" first)`);
    throw err;
  }
  const { master, keyId } = await openWithPassword(backend, password, opts.keyHint);
  const raw = JSON.parse(open(master, sealedConfig, 'config').toString('utf8')) as Record<string, unknown>;
  const version = raw.version;
  if (version !== 1 && version !== 2)
    fail('REPO_UNSUPPORTED', `unsupported repository version ${String(version)}`);
  const pol = parsePolynomial(String(raw.chunker_polynomial ?? ''));
  if (!isIrreducible(pol)) fail('INTEGRITY', 'the chunker polynomial in the config is not irreducible');
  const repo = new Repository(backend, master, { version, id: String(raw.id), chunkerPolynomial: pol }, opts);
  repo.keyId = keyId;
  return repo;
}

export class Repository {
  readonly index: MasterIndex = emptyMasterIndex();
  readonly stats: SaveStats = { blobsAdded: 0, dataAdded: 0, dataAddedPacked: 0 };
  /** ID of the key file the repository was opened with ('' when built directly). */
  keyId = '';
  private readonly packSize: number;
  private readonly compressData: boolean;
  private readonly uploadConcurrency: number;
  private readonly openPacks: Record<BlobType, PackSpool | undefined> = { data: undefined, tree: undefined };
  private readonly pending: Record<BlobType, Set<string>> = { data: new Set(), tree: new Set() };
  private readonly uploads = new Set<Promise<void>>();
  /** The first failure of a store or an upload: every later save and flush throws it. */
  private failure: unknown;
  private unindexed: IndexedPack[] = [];
  private readonly pool: WorkerPool | undefined;
  /** The key as worker jobs carry it. */
  readonly workerKey: WorkerKey;
  private readonly maxInFlight: number;
  private inFlightBytes = 0;
  private readonly admissionWaiters: (() => void)[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Dedup decisions, then appends to packs, happen in submission order (deterministic packs). */
  private decided: Promise<void> = Promise.resolve();
  private readonly turnover = collectGarbageEvery(16 * 1024 * 1024);
  private appended: Promise<void> = Promise.resolve();
  /** Small data blobs waiting to be sealed together, and buffers for the next batches. */
  private openBatch: OpenBatch | undefined;
  private readonly batchBuffers: BatchBuffers[] = [];
  /**
   * Shared memory blobs are sealed into, by the workers or inline (made when first needed):
   * this thread copies each sealed blob into its pack and gives the span back. A fresh
   * buffer per sealed blob instead stayed with the workers' allocator until a collection
   * (measured: about 70 MiB of a backup's peak RSS).
   */
  private sealRing: SharedRing | undefined;

  constructor(
    readonly backend: Backend,
    readonly key: MasterKey,
    readonly config: RepoConfig,
    opts: RepositoryOptions = {},
  ) {
    this.packSize = opts.packSize ?? 16 * 1024 * 1024;
    this.compressData = config.version >= 2 && opts.compression !== 'off';
    this.uploadConcurrency = opts.uploadConcurrency ?? 2;
    const workers = opts.workers ?? defaultWorkerCount();
    this.pool = workers > 0 ? sharedPool(workers) : undefined;
    this.workerKey = workerKeyOf(key);
    // 8 MiB keeps both workers busy (chunks average 1 MiB); 16 MiB measured no faster and held
    // about 50 MiB more (the blocks in flight and the seal ring).
    this.maxInFlight = opts.maxInFlightBytes ?? 8 * 1024 * 1024;
  }

  /** Number of worker threads this repository uses (0: everything inline). */
  get workerCount(): number {
    return this.pool?.size ?? 0;
  }

  /** Loads a stored file, checks that its name is the SHA-256 of its bytes, decrypts it. */
  async loadFile(type: Exclude<FileType, 'pack' | 'key' | 'config'>, id: string): Promise<Buffer> {
    const bytes = await this.backend.load({ type, name: id });
    const what = `${type} ${id.slice(0, 8)}`;
    if (sha256(bytes) !== id) fail('INTEGRITY', `${what}: file content does not match its name (damaged)`);
    return decodeUnpacked(open(this.key, bytes, what), what);
  }

  /** Encrypts and stores JSON as an unpacked file (snapshot, index, lock); returns its ID. */
  async saveFile(type: 'snapshot' | 'index' | 'lock', json: Buffer): Promise<string> {
    const bytes = seal(this.key, encodeUnpacked(json, this.config.version));
    const id = sha256(bytes);
    await this.backend.save({ type, name: id }, bytes);
    return id;
  }

  async listIds(type: FileType): Promise<string[]> {
    return (await this.backend.list(type)).map((f) => f.name);
  }

  /** The full ID of the `type` file whose ID is `prefix` or starts with it (unique), else a clear error. */
  async findFileId(type: FileType, prefix: string): Promise<string> {
    if (!/^[0-9a-f]{1,64}$/.test(prefix))
      fail('INVALID_ARGUMENT', `"${prefix}" is not a ${type} ID (hex digits, or a unique prefix of them)`);
    const ids = (await this.listIds(type)).filter((id) => id.startsWith(prefix));
    if (ids.length === 0) fail('NOT_FOUND', `no ${type} with ID ${prefix}`);
    if (ids.length > 1)
      fail('INVALID_ARGUMENT', `${type} ID prefix ${prefix} is ambiguous: give more characters`);
    return ids[0];
  }

  /** Reads every index file into the master index (a few at once, added in name order). */
  async loadIndex(onProgress?: (done: number, total: number) => void): Promise<void> {
    const ids = await this.listIds('index');
    const load = (id: string) => {
      const p = this.loadFile('index', id).then((json) => decodeIndex(json, `index ${id.slice(0, 8)}`));
      p.catch(() => undefined); // observed in order below
      return p;
    };
    const ahead = ids.slice(0, INDEX_LOADS_AHEAD).map(load);
    for (let i = 0; i < ids.length; i++) {
      const idx = await ahead[i];
      delete ahead[i];
      if (i + INDEX_LOADS_AHEAD < ids.length) ahead.push(load(ids[i + INDEX_LOADS_AHEAD]));
      addPacks(this.index, idx.packs);
      onProgress?.(i + 1, ids.length);
    }
  }

  hasBlob(type: BlobType, id: string): boolean {
    return this.index[type].has(id) || this.pending[type].has(id);
  }

  /**
   * Stores a blob unless one with the same ID exists. Returns its ID and whether it was new.
   * The blob is durable only after flush().
   */
  async saveBlob(type: BlobType, plaintext: Buffer, knownId?: string): Promise<SaveResult> {
    const { done } = await this.submitBlob(type, plaintext, { knownId });
    this.sendBatch(); // the caller waits for this blob: do not wait for the batch to fill
    return done;
  }

  /**
   * Starts storing a blob and resolves once it is admitted (back-pressure: at most
   * maxInFlightBytes of plaintext are being hashed and sealed at once). `id` resolves as soon
   * as the blob is hashed (a caller building a tree needs no more: the snapshot is written
   * after flush(), which fails if any store failed); `done` resolves like saveBlob. With
   * `owned` the caller hands the buffer over (it must own its whole ArrayBuffer and not touch
   * it again), which spares a copy on the way to a worker. A small data blob is copied into a
   * batch before the first await, so the caller may reuse its buffer at once.
   */
  async submitBlob(
    type: BlobType,
    plaintext: Plaintext,
    opts: { knownId?: string; owned?: boolean } = {},
  ): Promise<{ id: Promise<string>; done: Promise<SaveResult> }> {
    this.throwIfFailed();
    const cost = plainLengthOf(plaintext);
    if (type === 'data' && cost < HASH_INLINE_BELOW) {
      const whole = Array.isArray(plaintext) ? Buffer.concat(plaintext) : (plaintext as Uint8Array);
      const id = opts.knownId ?? blobId(whole);
      const done = this.hasBlob('data', id)
        ? Promise.resolve({ id, added: false })
        : this.addToBatch(id, whole);
      await this.admit(0);
      return { id: Promise.resolve(id), done };
    }
    await this.admit(cost);
    this.inFlightBytes += cost;
    let hashed!: (id: string) => void;
    const id = new Promise<string>((resolve) => (hashed = resolve));
    const done = this.store(type, plaintext, opts.knownId, opts.owned ?? false, hashed);
    const settled = done.then(
      () => undefined,
      (err: unknown) => this.recordFailure(err),
    );
    this.inFlight.add(settled);
    void settled.finally(() => {
      this.inFlight.delete(settled);
      this.release(cost);
    });
    // A store that fails before hashing rejects `id` too.
    return { id: Promise.race([id, done.then((r) => r.id)]), done };
  }

  /**
   * Waits until `cost` more bytes fit in flight, or nothing but the open batch is in flight
   * (which only more submissions or a flush will send).
   */
  private async admit(cost: number): Promise<void> {
    while (
      this.inFlightBytes - (this.openBatch?.used ?? 0) > 0 &&
      this.inFlightBytes + cost > this.maxInFlight
    ) {
      await new Promise<void>((resolve) => this.admissionWaiters.push(resolve));
      this.throwIfFailed();
    }
  }

  private release(bytes: number): void {
    this.inFlightBytes -= bytes;
    for (const wake of this.admissionWaiters.splice(0)) wake();
  }

  /** Copies a new small data blob into the open batch; sends the batch once it is full. */
  private addToBatch(id: string, plaintext: Uint8Array): Promise<SaveResult> {
    this.pending.data.add(id);
    const b = (this.openBatch ??= this.newBatch());
    b.bufs.input.set(plaintext, b.used);
    b.slices.push({ at: b.used, length: plaintext.length });
    b.ids.push(id);
    b.used += plaintext.length;
    this.inFlightBytes += plaintext.length;
    const done = b.appended.then(() => ({ id, added: true }));
    done.catch(() => undefined); // a failure is reported by flush()
    if (b.used >= BATCH_BYTES || b.ids.length === BATCH_BLOBS) this.sendBatch();
    return done;
  }

  private newBatch(): OpenBatch {
    let settle!: OpenBatch['settle'];
    const appended = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    appended.catch(() => undefined);
    const bufs = this.batchBuffers.pop() ?? newBatchBuffers();
    return { bufs, used: 0, ids: [], slices: [], appended, settle };
  }

  /** Seals the open batch (on a worker when there are workers) and appends it, in order. */
  private sendBatch(): void {
    const b = this.openBatch;
    if (!b) return;
    this.openBatch = undefined;
    const prevAppended = this.appended;
    let appended!: () => void;
    this.appended = new Promise((resolve) => (appended = resolve));
    const work = (async () => {
      try {
        const { input, output } = b.bufs;
        const compress = this.compressData;
        const sealed = this.pool
          ? await this.pool.run<SealedBatch>({
              op: 'sealBatch',
              key: this.workerKey,
              data: input,
              out: output,
              blobs: b.slices,
              compress,
            })
          : sealBatch(this.key, input, b.slices, compress, output);
        await prevAppended;
        this.throwIfFailed();
        const blobs = b.ids.map((id, i) => ({
          id,
          length: sealed.lengths[i],
          uncompressedLength: sealed.uncompressed[i],
          plainLength: b.slices[i].length,
        }));
        // Copied into the pack's staging buffer, so the batch's buffers can be reused at once.
        await this.appendToPack('data', blobs, output.subarray(0, sealed.size));
        this.batchBuffers.push(b.bufs);
        if ((this.openPacks.data?.size ?? 0) >= this.packSize) await this.finishPack('data');
      } finally {
        void prevAppended.then(appended);
      }
    })();
    work.then(b.settle.resolve, b.settle.reject);
    const settled = work.catch((err: unknown) => this.recordFailure(err));
    this.inFlight.add(settled);
    void settled.finally(() => {
      this.inFlight.delete(settled);
      this.release(b.used);
    });
  }

  /** Room for a sealed blob of at most `n` bytes: a span of the seal ring, or its own memory when larger. */
  private sealOutput(n: number): Promise<Buffer> {
    // Room for everything admitted in flight, and at least for the largest data blob (which,
    // like admission, then waits for the ring to empty).
    const ring = (this.sealRing ??= new SharedRing(Math.max(this.maxInFlight, MAX_CHUNK) + 64 * 1024));
    if (n > ring.size) return Promise.resolve(Buffer.from(new SharedArrayBuffer(n)));
    return ring.take(n);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Keeps the first failure (every later save and flush throws it) and closes the packs being
   * filled: nothing will finish them, and a long-running process must not keep their files.
   */
  private recordFailure(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    const batch = this.openBatch;
    this.openBatch = undefined;
    if (batch) {
      batch.settle.reject(err);
      this.release(batch.used);
    }
    for (const type of ['data', 'tree'] as const) {
      const pack = this.openPacks[type];
      this.openPacks[type] = undefined;
      if (pack) void discardSpool(pack);
    }
  }

  /**
   * Hash, dedup decision (in order), seal, append to the open pack (in order). Views of shared
   * memory go to the workers as they are; other buffers move there (`owned`) or are copied.
   */
  private async store(
    type: BlobType,
    plaintext: Plaintext,
    knownId: string | undefined,
    owned: boolean,
    hashed: (id: string) => void = () => undefined,
  ) {
    const prevDecided = this.decided;
    const prevAppended = this.appended;
    let decide!: () => void;
    let appended!: () => void;
    this.decided = new Promise((resolve) => (decide = resolve));
    this.appended = new Promise((resolve) => (appended = resolve));
    const plainLength = plainLengthOf(plaintext); // before the buffer moves to a worker
    try {
      const pool = plainLength >= INLINE_BELOW ? this.pool : undefined;
      // Shared parts go to a worker as they are; otherwise one buffer, moved there or copied.
      const shared = pool && sharedParts(plaintext);
      let data = shared
        ? undefined
        : Array.isArray(plaintext)
          ? Buffer.concat(plaintext)
          : (plaintext as Uint8Array);
      let id = knownId;
      if (id === undefined) {
        if (shared) id = (await pool.run<{ id: string }>({ op: 'hashParts', parts: shared })).id;
        else if (pool && plainLength >= HASH_INLINE_BELOW) {
          const sent = owned && ownsMemory(data!) ? data! : ownedCopy(data!);
          const r = await pool.run<{ id: string; data: Uint8Array }>({ op: 'hash', data: sent }, [
            sent.buffer as ArrayBuffer,
          ]);
          id = r.id;
          data = r.data;
          owned = true;
        } else id = blobId(data!);
      }
      hashed(id);
      await prevDecided;
      if (this.hasBlob(type, id)) return { id, added: false };
      this.pending[type].add(id);
      // Taken in decision order, so spans are taken in the order blobs are appended: an
      // earlier blob never waits for room a later one holds.
      const out = await this.sealOutput(plainLength + SEAL_OVERHEAD);
      decide();
      const compress = plainLength > 0 && (type === 'tree' ? this.config.version >= 2 : this.compressData);
      try {
        // Sealed into the seal ring (by a worker, or here), then copied from there into the pack.
        let r: SealedInto;
        if (pool) {
          const transfer: ArrayBuffer[] = [];
          let parts = shared;
          if (!parts) {
            const sent = owned ? data! : ownedCopy(data!);
            parts = [sent];
            transfer.push(sent.buffer as ArrayBuffer);
          }
          r = await pool.run<SealedInto>(
            { op: 'sealInto', key: this.workerKey, parts, compress, out },
            transfer,
          );
        } else r = sealBlobInto(this.key, data!, compress, out);
        await prevAppended;
        this.throwIfFailed();
        const blob = { id, length: r.length, uncompressedLength: r.uncompressedLength, plainLength };
        await this.appendToPack(type, [blob], out.subarray(0, r.length));
      } finally {
        this.sealRing?.give(out);
      }
      if ((this.openPacks[type]?.size ?? 0) >= this.packSize) await this.finishPack(type);
      return { id, added: true };
    } finally {
      decide();
      void prevAppended.then(appended);
    }
  }

  /** Appends sealed blobs, stored one after the other in `sealed`, to the open pack (copied at once). */
  private async appendToPack(type: BlobType, blobs: readonly Appended[], sealed: Uint8Array): Promise<void> {
    const pack = (this.openPacks[type] ??= await openSpool());
    let offset = pack.size;
    for (const b of blobs) {
      pack.blobs.push({ type, id: b.id, offset, length: b.length, uncompressedLength: b.uncompressedLength });
      offset += b.length;
      this.stats.blobsAdded++;
      this.stats.dataAdded += b.plainLength;
      this.stats.dataAddedPacked += b.length;
      this.turnover(b.plainLength);
    }
    await copyToSpool(pack, sealed);
  }

  private async finishPack(type: BlobType): Promise<void> {
    const pack = this.openPacks[type];
    this.openPacks[type] = undefined;
    if (!pack) return;
    if (pack.blobs.length === 0) return discardSpool(pack);
    const header = seal(this.key, encodeHeader(pack.blobs));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length);
    await copyToSpool(pack, header);
    await copyToSpool(pack, length);
    const sealed = await sealSpool(pack); // the ID is hashed as the pack is written
    const { id } = sealed;
    const h = { type: 'pack', name: id } as const;
    const backend = this.backend;
    let store: () => Promise<void>;
    if (backend.saveFile && sealed.path !== undefined) {
      // Copied from the temporary file (by the kernel, for a local repository).
      const saveFile = backend.saveFile.bind(backend);
      const file = sealed.path;
      store = async () => {
        try {
          await saveFile(h, file, sealed.length);
        } finally {
          await sealed.close();
        }
      };
    } else {
      let bytes: Buffer;
      try {
        bytes = await sealed.read();
      } finally {
        await sealed.close();
      }
      store = () => backend.save(h, bytes);
    }
    const upload = profiledAsync('write', sealed.length, store)
      .then(() => {
        this.unindexed.push({ id, blobs: pack.blobs });
        addPacks(this.index, [{ id, blobs: pack.blobs }]);
        for (const b of pack.blobs) this.pending[type].delete(b.id);
      })
      .catch((err: unknown) => this.recordFailure(err))
      .finally(() => this.uploads.delete(upload));
    this.uploads.add(upload);
    while (this.uploads.size >= this.uploadConcurrency) await Promise.race(this.uploads);
    this.throwIfFailed();
    if (this.unindexedBlobCount() >= 150_000) await this.writeIndex();
  }

  private unindexedBlobCount(): number {
    return this.unindexed.reduce((n, p) => n + p.blobs.length, 0);
  }

  private async writeIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed;
    this.unindexed = [];
    await this.saveFile('index', encodeIndex({ packs }));
  }

  /**
   * Uploads every open pack and writes the index that lists them; then lets go of the read
   * blocks kept for reuse (block-pool.ts), which a process between backups need not hold.
   */
  async flush(): Promise<void> {
    this.sendBatch();
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    this.throwIfFailed();
    await this.finishPack('data');
    await this.finishPack('tree');
    await Promise.all(this.uploads);
    this.throwIfFailed();
    await this.writeIndex();
    drainBlockPool();
  }

  /**
   * The chunker's candidate cuts in `block` (context: the up to 63 bytes before it), on a
   * worker when the repository has workers (the block, a view of shared memory, is read in
   * place); undefined when there are too many to list (chunker-wasm.ts scanCandidates).
   */
  async scanCandidates(block: Uint8Array, context: Uint8Array): Promise<number[] | undefined> {
    const pol = this.config.chunkerPolynomial;
    if (!this.pool || !(block.buffer instanceof SharedArrayBuffer))
      return profiled('chunk', block.length, () => scanCandidates(pol, block, context));
    const r = await this.pool.run<{ candidates: number[] | null }>({
      op: 'scan',
      pol: pol.toString(),
      data: block,
      context: new Uint8Array(context),
    });
    return r.candidates ?? undefined;
  }

  /** Loads, decrypts, decompresses and verifies one blob. A damaged blob is an INTEGRITY error. */
  async loadBlob(type: BlobType, id: string): Promise<Buffer> {
    const loc = lookupBlob(this.index, type, id);
    if (!loc) fail('NOT_FOUND', `${type} blob ${id} is not in the index`);
    const raw = await profiledAsync('read', loc.length, () =>
      this.backend.load({ type: 'pack', name: loc.packId }, loc.offset, loc.length),
    );
    return this.decodeBlobAsync(loc, raw);
  }

  /** Opens a sealed blob read from its pack and checks that it hashes to its ID. */
  decodeBlob(loc: BlobLocation, sealed: Buffer): Buffer {
    return openBlob(this.key, loc, sealed);
  }

  /** decodeBlob on a worker thread when the repository has workers. */
  async decodeBlobAsync(loc: BlobLocation, sealed: Uint8Array): Promise<Buffer> {
    this.turnover(sealed.length);
    if (!this.pool || sealed.length < INLINE_BELOW) return openBlob(this.key, loc, sealed);
    const data = ownedCopy(sealed);
    const origin = {
      type: loc.type,
      id: loc.id,
      uncompressedLength: loc.uncompressedLength,
      packId: loc.packId,
    };
    const r = await this.pool.run<{ plain: Uint8Array }>(
      { op: 'open', key: this.workerKey, data, loc: origin },
      [data.buffer as ArrayBuffer],
    );
    return asBuffer(r.plain);
  }

  /** The worker pool (restore jobs run on it; tests inject a failing worker). */
  get workerPool(): WorkerPool | undefined {
    return this.pool;
  }
}
