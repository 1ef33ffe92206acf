/** gc-hint: a young-generation collection after every `every` bytes reported, and none before. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { collectGarbageEvery } from './gc-hint.js';

/** Minor collections seen while `fn` runs (gc entries are delivered after it, so wait a tick). */
async function minorCollections(fn: () => void): Promise<number> {
  let n = 0;
  const seen = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) n++;
  });
  seen.observe({ entryTypes: ['gc'] });
  fn();
  await new Promise((resolve) => setTimeout(resolve, 50));
  seen.disconnect();
  return n;
}

test('a young-generation collection runs each time the bytes reported reach the threshold', async () => {
  // Collections the runtime makes of its own add a few at most: the counts are far apart.
  const rare = collectGarbageEvery(1_000_000);
  assert.ok((await minorCollections(() => Array.from({ length: 40 }, () => rare(1000)))) < 10);
  const often = collectGarbageEvery(1000);
  assert.ok((await minorCollections(() => Array.from({ length: 40 }, () => often(1000)))) >= 40);
  const halves = collectGarbageEvery(1000);
  const n = await minorCollections(() => Array.from({ length: 80 }, () => halves(500)));
  assert.ok(n >= 40 && n < 50, `${n} collections`);
});
