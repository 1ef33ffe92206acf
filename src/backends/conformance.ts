/**
 * The conformance suite every backend must pass (restic's internal/backend/test): create,
 * save and load (whole and ranges), stat, list per type with sizes, remove, "not found" on
 * each operation, saving the same file twice, concurrent saves, temporary or foreign names
 * staying invisible, and saveFile (where the backend has it) storing what save would.
 * Register it from a test file with describeConformance().
 */
import { createHash, randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isHoldfastError } from '../errors.js';
import { type Backend, FILE_TYPES, type FileHandle, type FileType } from './backend.js';

export interface ConformanceTarget {
  /** A backend over a location holding no repository yet. */
  backend: Backend;
  /**
   * Writes a file straight into storage, bypassing the backend (path relative to the
   * repository, restic layout); used to prove temporary files are invisible. Optional.
   */
  putRaw?(relativePath: string, data: Buffer): Promise<void>;
  /** Runs after the suite, after backend.close(). */
  cleanup?(): Promise<void>;
}

export interface ConformanceOptions {
  /** Bytes of the large file (default 3 MiB; crosses chunking in every transport). */
  largeSize?: number;
  /** Skip the create() tests (for targets created elsewhere). */
  skipCreate?: boolean;
  /**
   * The backend retries: a remove of a missing file may then succeed, since after a failed
   * first attempt "not found" cannot be told from "removed by the attempt whose answer was lost".
   */
  retriedRemove?: boolean;
}

/** A file named as restic names it: the SHA-256 of its bytes. */
export function contentNamed(type: FileType, size: number): { h: FileHandle; data: Buffer } {
  const data = randomBytes(size);
  const name = type === 'config' ? '' : createHash('sha256').update(data).digest('hex');
  return { h: { type, name }, data };
}

async function rejectsNotFound(be: Backend, p: Promise<unknown>, what: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.ok(be.isNotFound(err), `${what}: expected "not found", got ${String(err)}`);
    return;
  }
  assert.fail(`${what}: expected "not found", but it succeeded`);
}

const sorted = <T extends { name: string }>(xs: T[]) => [...xs].sort((a, b) => (a.name < b.name ? -1 : 1));

export function describeConformance(
  name: string,
  open: () => Promise<ConformanceTarget>,
  opts: ConformanceOptions = {},
): void {
  describe(`backend conformance: ${name}`, () => {
    let t: ConformanceTarget;
    let be: Backend;

    before(async () => {
      t = await open();
      be = t.backend;
    });
    after(async () => {
      await be?.close();
      await t?.cleanup?.();
    });

    test('create makes an empty repository; a second create with a config fails with REPO_EXISTS', async () => {
      if (opts.skipCreate) return;
      await be.create();
      for (const type of FILE_TYPES) assert.deepEqual(await be.list(type), [], `list ${type}`);
      await rejectsNotFound(be, be.load({ type: 'config', name: '' }), 'load missing config');
      const cfg = Buffer.from('config bytes');
      await be.save({ type: 'config', name: '' }, cfg);
      assert.deepEqual(await be.load({ type: 'config', name: '' }), cfg);
      await assert.rejects(be.create(), (err) => isHoldfastError(err, 'REPO_EXISTS'));
    });

    test('saves and loads every file type whole, with stat sizes and per-type listings', async () => {
      const files = (['key', 'lock', 'snapshot', 'index', 'pack'] as const).flatMap((type) =>
        [1, 2].map((i) => contentNamed(type, 100 + i * 37)),
      );
      for (const f of files) await be.save(f.h, f.data);
      for (const f of files) {
        assert.deepEqual(await be.load(f.h), f.data);
        assert.deepEqual(await be.stat(f.h), { name: f.h.name, size: f.data.length });
      }
      for (const type of ['key', 'lock', 'snapshot', 'index', 'pack'] as const) {
        const want = files
          .filter((f) => f.h.type === type)
          .map((f) => ({ name: f.h.name, size: f.data.length }));
        assert.deepEqual(sorted(await be.list(type)), sorted(want), `list ${type}`);
      }
      assert.deepEqual(await be.list('config'), []);
      for (const f of files) await be.remove(f.h);
    });

    test('loads byte ranges: offset and length, offset only, to the last byte, single bytes', async () => {
      const f = contentNamed('pack', 10_000);
      await be.save(f.h, f.data);
      const cases: [number, number | undefined][] = [
        [0, 1],
        [0, 10_000],
        [1, 9_999],
        [4_321, 100],
        [9_999, 1],
        [5_000, undefined],
        [0, undefined],
        [123, 0],
      ];
      for (const [off, len] of cases) {
        const got = await be.load(f.h, off, len);
        const want = f.data.subarray(off, len === undefined ? undefined : off + len);
        assert.ok(got.equals(want), `range ${off}+${len}`);
      }
      await be.remove(f.h);
    });

    test('a range beyond the end of a file is an error, not "not found" and not short data', async () => {
      const f = contentNamed('snapshot', 500);
      await be.save(f.h, f.data);
      await assert.rejects(be.load(f.h, 400, 200), (err) => !be.isNotFound(err));
      await be.remove(f.h);
    });

    test('a large file round-trips byte for byte', async () => {
      const f = contentNamed('pack', opts.largeSize ?? 3 * 1024 * 1024 + 7);
      await be.save(f.h, f.data);
      assert.equal((await be.stat(f.h)).size, f.data.length);
      assert.ok((await be.load(f.h)).equals(f.data));
      const mid = Math.floor(f.data.length / 2);
      assert.ok((await be.load(f.h, mid, 300_000)).equals(f.data.subarray(mid, mid + 300_000)));
      await be.remove(f.h);
    });

    test('missing files are "not found" for load, stat and remove', async () => {
      const { h } = contentNamed('index', 10);
      await rejectsNotFound(be, be.load(h), 'load');
      await rejectsNotFound(be, be.load(h, 2, 3), 'load range');
      await rejectsNotFound(be, be.stat(h), 'stat');
      if (!opts.retriedRemove) await rejectsNotFound(be, be.remove(h), 'remove');
      const pack = contentNamed('pack', 10).h;
      await rejectsNotFound(be, be.load(pack), 'load pack');
    });

    test('remove deletes the file: it is gone from stat, load and list', async () => {
      const f = contentNamed('lock', 77);
      await be.save(f.h, f.data);
      await be.remove(f.h);
      await rejectsNotFound(be, be.stat(f.h), 'stat after remove');
      await rejectsNotFound(be, be.load(f.h), 'load after remove');
      assert.ok(!(await be.list('lock')).some((x) => x.name === f.h.name));
    });

    test('saving the same content-named file twice keeps it whole and listed once', async () => {
      const f = contentNamed('index', 4096);
      await be.save(f.h, f.data);
      await be.save(f.h, f.data);
      assert.ok((await be.load(f.h)).equals(f.data));
      assert.equal((await be.list('index')).filter((x) => x.name === f.h.name).length, 1);
      await be.remove(f.h);
    });

    test('parallel saves of many packs all land, each in its place', async () => {
      const files = Array.from({ length: 24 }, (_, i) => contentNamed('pack', 1000 + i * 513));
      await Promise.all(files.map((f) => be.save(f.h, f.data)));
      const listed = new Map((await be.list('pack')).map((x) => [x.name, x.size]));
      for (const f of files) assert.equal(listed.get(f.h.name), f.data.length, f.h.name);
      const loaded = await Promise.all(files.map((f) => be.load(f.h)));
      loaded.forEach((d, i) => assert.ok(d.equals(files[i].data)));
      await Promise.all(files.map((f) => be.remove(f.h)));
      assert.deepEqual(await be.list('pack'), []);
    });

    test('saveFile stores a local file as save does, also one without a name; a wrong length is refused', async (ctx) => {
      const saveFile = be.saveFile?.bind(be);
      if (!saveFile) return ctx.skip('the backend has no saveFile');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conf-savefile-'));
      try {
        const files = [
          contentNamed('pack', 10_000),
          contentNamed('pack', opts.largeSize ?? 3 * 1024 * 1024 + 7),
          contentNamed('index', 1),
        ];
        for (const f of files) {
          const file = path.join(dir, f.h.name);
          fs.writeFileSync(file, f.data);
          await saveFile(f.h, file, f.data.length);
          assert.deepEqual(await be.stat(f.h), { name: f.h.name, size: f.data.length });
          assert.ok((await be.load(f.h)).equals(f.data));
          await saveFile(f.h, file, f.data.length); // a second time: still whole, listed once
          assert.ok((await be.load(f.h)).equals(f.data));
        }
        const packs = (await be.list('pack')).map((x) => x.name);
        assert.deepEqual(packs.sort(), [files[0].h.name, files[1].h.name].sort());
        if (process.platform === 'linux') {
          // An unlinked file, through /proc/self/fd (as a pack spooled in an O_TMPFILE comes).
          const f = contentNamed('pack', 200_000);
          const file = path.join(dir, 'unlinked');
          const fd = fs.openSync(file, 'w+');
          try {
            fs.writeSync(fd, f.data);
            fs.unlinkSync(file);
            await saveFile(f.h, `/proc/self/fd/${fd}`, f.data.length);
          } finally {
            fs.closeSync(fd);
          }
          assert.ok((await be.load(f.h)).equals(f.data));
          await be.remove(f.h);
        }
        const short = contentNamed('pack', 1000);
        fs.writeFileSync(path.join(dir, 'short'), short.data);
        await assert.rejects(saveFile(short.h, path.join(dir, 'short'), 1001), (err) => !be.isNotFound(err));
        await rejectsNotFound(be, be.stat(short.h), 'stat after a refused saveFile');
        for (const f of files) await be.remove(f.h);
        assert.deepEqual(await be.list('pack'), []);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test('temporary and foreign names are invisible to list', async (ctx) => {
      if (!t.putRaw) return ctx.skip('the target cannot write raw files');
      const f = contentNamed('pack', 64);
      const id = f.h.name;
      await t.putRaw(`data/${id.slice(0, 2)}/${id}-tmp-0123456789abcdef`, Buffer.from('partial'));
      await t.putRaw(`snapshots/${id}-tmp-0123`, Buffer.from('partial'));
      await t.putRaw('snapshots/README', Buffer.from('not an id'));
      await t.putRaw(`index/${id.toUpperCase()}`, Buffer.from('upper case is not an id'));
      assert.deepEqual(await be.list('pack'), []);
      assert.deepEqual(await be.list('snapshot'), []);
      assert.deepEqual(await be.list('index'), []);
    });
  });
}
