/**
 * An open restic-format repository: keys, config, the master index, and the blob store
 * that hides packs behind "save blob / load blob" (restic-format.md §3–§7).
 * This is the one engine object with a lifetime (open packs, pending uploads).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Backend, FileType } from '../backends/backend.js';
import { fail } from '../errors.js';
import { decodeUnpacked, encodeUnpacked, zstdCompress, zstdDecompress } from './compression.js';
import { calibrateScrypt, type MasterKey, newMasterKey, open, type ScryptParams, seal } from './crypto.js';
import { decodeIndex, encodeIndex, type IndexedPack } from './index-file.js';
import { addKey, openWithPassword } from './keys.js';
import {
  addPacks,
  type BlobLocation,
  emptyMasterIndex,
  lookupBlob,
  type MasterIndex,
} from './master-index.js';
import { assemblePack, type BlobType, type PackedBlob } from './pack.js';
import { formatPolynomial, isIrreducible, parsePolynomial, randomPolynomial } from './polynomial.js';

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
}

export interface SaveStats {
  blobsAdded: number;
  /** Plaintext bytes of new blobs. */
  dataAdded: number;
  /** Bytes written into packs (sealed, compressed). */
  dataAddedPacked: number;
}

interface OpenPack {
  sealed: Buffer[];
  blobs: PackedBlob[];
  size: number;
}

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
  private readonly openPacks: Record<BlobType, OpenPack | undefined> = { data: undefined, tree: undefined };
  private readonly pending: Record<BlobType, Set<string>> = { data: new Set(), tree: new Set() };
  private readonly uploads = new Set<Promise<void>>();
  private uploadError: unknown;
  private unindexed: IndexedPack[] = [];

  constructor(
    readonly backend: Backend,
    readonly key: MasterKey,
    readonly config: RepoConfig,
    opts: RepositoryOptions = {},
  ) {
    this.packSize = opts.packSize ?? 16 * 1024 * 1024;
    this.compressData = config.version >= 2 && opts.compression !== 'off';
    this.uploadConcurrency = opts.uploadConcurrency ?? 2;
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

  /** Reads every index file into the master index. */
  async loadIndex(onProgress?: (done: number, total: number) => void): Promise<void> {
    const ids = await this.listIds('index');
    let done = 0;
    for (const id of ids) {
      const idx = decodeIndex(await this.loadFile('index', id), `index ${id.slice(0, 8)}`);
      addPacks(this.index, idx.packs);
      onProgress?.(++done, ids.length);
    }
  }

  hasBlob(type: BlobType, id: string): boolean {
    return this.index[type].has(id) || this.pending[type].has(id);
  }

  /**
   * Stores a blob unless one with the same ID exists. Returns its ID and whether it was new.
   * The blob is durable only after flush().
   */
  async saveBlob(
    type: BlobType,
    plaintext: Buffer,
    knownId?: string,
  ): Promise<{ id: string; added: boolean }> {
    if (this.uploadError) throw this.uploadError;
    const id = knownId ?? sha256(plaintext);
    if (this.hasBlob(type, id)) return { id, added: false };
    this.pending[type].add(id);
    const compress = plaintext.length > 0 && (type === 'tree' ? this.config.version >= 2 : this.compressData);
    const sealed = seal(this.key, compress ? zstdCompress(plaintext) : plaintext);
    const pack = (this.openPacks[type] ??= { sealed: [], blobs: [], size: 0 });
    pack.blobs.push({
      type,
      id,
      offset: pack.size,
      length: sealed.length,
      uncompressedLength: compress ? plaintext.length : 0,
    });
    pack.sealed.push(sealed);
    pack.size += sealed.length;
    this.stats.blobsAdded++;
    this.stats.dataAdded += plaintext.length;
    this.stats.dataAddedPacked += sealed.length;
    if (pack.size >= this.packSize) await this.finishPack(type);
    return { id, added: true };
  }

  private async finishPack(type: BlobType): Promise<void> {
    const pack = this.openPacks[type];
    this.openPacks[type] = undefined;
    if (!pack || pack.blobs.length === 0) return;
    const { id, bytes } = assemblePack(this.key, pack.sealed, pack.blobs);
    const upload = this.backend
      .save({ type: 'pack', name: id }, bytes)
      .then(() => {
        this.unindexed.push({ id, blobs: pack.blobs });
        addPacks(this.index, [{ id, blobs: pack.blobs }]);
        for (const b of pack.blobs) this.pending[type].delete(b.id);
      })
      .catch((err: unknown) => {
        this.uploadError ??= err;
      })
      .finally(() => this.uploads.delete(upload));
    this.uploads.add(upload);
    while (this.uploads.size >= this.uploadConcurrency) await Promise.race(this.uploads);
    if (this.uploadError) throw this.uploadError;
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

  /** Uploads every open pack and writes the index that lists them. */
  async flush(): Promise<void> {
    await this.finishPack('data');
    await this.finishPack('tree');
    await Promise.all(this.uploads);
    if (this.uploadError) throw this.uploadError;
    await this.writeIndex();
  }

  /** Loads, decrypts, decompresses and verifies one blob. A damaged blob is an INTEGRITY error. */
  async loadBlob(type: BlobType, id: string): Promise<Buffer> {
    const loc = lookupBlob(this.index, type, id);
    if (!loc) fail('NOT_FOUND', `${type} blob ${id} is not in the index`);
    const raw = await this.backend.load({ type: 'pack', name: loc.packId }, loc.offset, loc.length);
    return this.decodeBlob(loc, raw);
  }

  /** Opens a sealed blob read from its pack and checks that it hashes to its ID. */
  decodeBlob(loc: BlobLocation, sealed: Buffer): Buffer {
    const what = `damaged ${loc.type} blob ${loc.id} in pack ${loc.packId}`;
    let plain = open(this.key, sealed, what);
    if (loc.uncompressedLength > 0) plain = zstdDecompress(plain, what);
    if (sha256(plain) !== loc.id) fail('INTEGRITY', `${what}: content does not match its ID`);
    return plain;
  }
}
