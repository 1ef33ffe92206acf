/**
 * Fault-injecting decorator for tests: fails operations at random (before they reach the
 * backend, or after a save or remove took effect, as when a rename succeeded but its answer
 * was lost), adds latency (slow reads), and returns truncated data from loads. Seeded, so a
 * failing run can be replayed exactly.
 */
import type { Backend, FileHandle } from './backend.js';
import { relativePath } from './backend.js';
import { transientError } from './backend-error.js';

export interface FaultOptions {
  seed: number;
  /** Share of operations that fail before reaching the backend (failed request, failed rename). */
  failureRate?: number;
  /** Share of saves and removes that take effect but report a failure (lost response). */
  lostResponseRate?: number;
  /** Share of loads that return fewer bytes than were asked for, without an error. */
  truncateRate?: number;
  /** Each operation waits a random 0..latencyMs first; loads wait twice as long (slow reads). */
  latencyMs?: number;
}

export interface FaultStats {
  failures: number;
  lostResponses: number;
  truncations: number;
  calls: number;
}

/** mulberry32: a small, fast, seedable PRNG with values in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function faultInjectingBackend(
  inner: Backend,
  opts: FaultOptions,
): Backend & { readonly faults: FaultStats } {
  const random = seededRandom(opts.seed);
  const faults: FaultStats = { failures: 0, lostResponses: 0, truncations: 0, calls: 0 };
  const chance = (rate = 0) => rate > 0 && random() < rate;

  async function before(what: string, slow = 1): Promise<void> {
    faults.calls++;
    if (opts.latencyMs) await new Promise((r) => setTimeout(r, random() * opts.latencyMs! * slow));
    if (chance(opts.failureRate)) {
      faults.failures++;
      throw transientError(`injected fault: ${what} failed`);
    }
  }

  async function afterEffect(what: string): Promise<void> {
    if (chance(opts.lostResponseRate)) {
      faults.lostResponses++;
      throw transientError(`injected fault: ${what} took effect but its answer was lost`);
    }
  }

  const name = (h: FileHandle) => relativePath(h);
  return {
    faults,
    location: inner.location,
    async create() {
      await before('create');
      await inner.create();
    },
    async save(h, data) {
      await before(`save ${name(h)}`);
      await inner.save(h, data);
      await afterEffect(`save ${name(h)}`);
    },
    saveFile: inner.saveFile
      ? async (h, file, length) => {
          await before(`save ${name(h)}`);
          await inner.saveFile!(h, file, length);
          await afterEffect(`save ${name(h)}`);
        }
      : undefined,
    async load(h, offset, length) {
      await before(`load ${name(h)}`, 2);
      const data = await inner.load(h, offset, length);
      if (data.length > 0 && chance(opts.truncateRate)) {
        faults.truncations++;
        return data.subarray(0, Math.floor(random() * data.length));
      }
      return data;
    },
    async stat(h) {
      await before(`stat ${name(h)}`);
      return inner.stat(h);
    },
    async list(type) {
      await before(`list ${type}`);
      return inner.list(type);
    },
    async remove(h) {
      await before(`remove ${name(h)}`);
      await inner.remove(h);
      await afterEffect(`remove ${name(h)}`);
    },
    isNotFound: (err) => inner.isNotFound(err),
    isPermanent: inner.isPermanent ? (err) => inner.isPermanent!(err) : undefined,
    canDelete: inner.canDelete ? (type) => inner.canDelete!(type) : undefined,
    retainedUntil: inner.retainedUntil ? (h) => inner.retainedUntil!(h) : undefined,
    close: () => inner.close(),
  };
}
