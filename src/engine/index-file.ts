/**
 * Index files: which blobs live in which pack, at which offset (restic-format.md §7).
 * Encoding and decoding of the JSON only; the in-memory lookup is master-index.ts.
 */
import { fail } from '../errors.js';
import type { BlobType, PackedBlob } from './pack.js';

export interface IndexedPack {
  id: string;
  blobs: PackedBlob[];
}

export interface IndexFile {
  supersedes?: string[];
  packs: IndexedPack[];
}

export function encodeIndex(index: IndexFile): Buffer {
  const packs = index.packs.map((p) => ({
    id: p.id,
    blobs: p.blobs.map((b) => {
      const o: Record<string, unknown> = { id: b.id, type: b.type, offset: b.offset, length: b.length };
      if (b.uncompressedLength > 0) o.uncompressed_length = b.uncompressedLength;
      return o;
    }),
  }));
  const doc = index.supersedes?.length ? { supersedes: index.supersedes, packs } : { packs };
  return Buffer.from(JSON.stringify(doc) + '\n');
}

function field(o: Record<string, unknown>, name: string): unknown {
  if (name in o) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

const HEX64 = /^[0-9a-f]{64}$/;

export function decodeIndex(json: Buffer, what: string): IndexFile {
  let doc: unknown;
  try {
    doc = JSON.parse(json.toString('utf8'));
  } catch (err) {
    return fail('INTEGRITY', `${what}: index is not valid JSON`, err);
  }
  if (Array.isArray(doc)) return { packs: decodePacks(doc, what) }; // legacy pre-0.10 format
  if (typeof doc !== 'object' || doc === null) fail('INTEGRITY', `${what}: index is not an object`);
  const o = doc as Record<string, unknown>;
  const sup = field(o, 'supersedes');
  return {
    supersedes: Array.isArray(sup) ? (sup as string[]) : undefined,
    packs: decodePacks(field(o, 'packs'), what),
  };
}

function decodePacks(packs: unknown, what: string): IndexedPack[] {
  if (packs === null || packs === undefined) return [];
  if (!Array.isArray(packs)) fail('INTEGRITY', `${what}: "packs" is not an array`);
  return packs.map((p: Record<string, unknown>) => {
    const id = field(p, 'id');
    if (typeof id !== 'string' || !HEX64.test(id)) fail('INTEGRITY', `${what}: invalid pack id`);
    const blobs = (field(p, 'blobs') as Record<string, unknown>[] | null) ?? [];
    return {
      id,
      blobs: blobs.map((b) => {
        const bid = field(b, 'id');
        const type = field(b, 'type');
        const offset = field(b, 'offset');
        const length = field(b, 'length');
        const ulen = field(b, 'uncompressed_length') ?? 0;
        if (typeof bid !== 'string' || !HEX64.test(bid))
          fail('INTEGRITY', `${what}: invalid blob id in pack ${id}`);
        if (type !== 'data' && type !== 'tree')
          fail('INTEGRITY', `${what}: invalid blob type ${String(type)}`);
        if (typeof offset !== 'number' || typeof length !== 'number' || typeof ulen !== 'number') {
          fail('INTEGRITY', `${what}: invalid blob position in pack ${id}`);
        }
        return { id: bid, type: type as BlobType, offset, length, uncompressedLength: ulen };
      }),
    };
  });
}
