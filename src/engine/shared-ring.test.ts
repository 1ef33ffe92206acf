/**
 * The ring check --read-data reads pieces into (shared-ring.ts): spans do not overlap, wrap
 * around, wait for room and are reclaimed in order even when given back out of order.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedRing } from './shared-ring.js';

describe('SharedRing', () => {
  test('spans are disjoint views of one shared memory, and wrap around', async () => {
    const ring = new SharedRing(100);
    const a = await ring.take(40);
    const b = await ring.take(40);
    assert.ok(a.buffer instanceof SharedArrayBuffer);
    assert.equal(a.buffer, b.buffer);
    assert.deepEqual([a.byteOffset, b.byteOffset], [0, 40]);
    assert.equal(ring.tryTake(30), undefined, 'only 20 bytes left at the end, none before');
    ring.give(a);
    const c = ring.tryTake(30);
    assert.equal(c?.byteOffset, 0, 'wraps to the start once the first span is back');
    assert.equal(ring.tryTake(15), undefined, 'wrapped: only the 10 bytes before b are free');
    assert.equal(ring.tryTake(10)?.byteOffset, 30);
  });

  test('a span given back early is reclaimed after the ones before it', async () => {
    const ring = new SharedRing(90);
    const a = await ring.take(30);
    const b = await ring.take(30);
    const c = await ring.take(30);
    ring.give(b);
    assert.equal(ring.tryTake(30), undefined, 'b waits for a');
    ring.give(a);
    const d = ring.tryTake(60);
    assert.equal(d?.byteOffset, 0);
    ring.give(c);
    ring.give(d as Buffer);
    assert.equal(ring.tryTake(90)?.byteOffset, 0, 'all free again');
  });

  test('take waits for room; tryTake gives way to a waiting take', async () => {
    const ring = new SharedRing(50);
    const a = await ring.take(40);
    const got: { view?: Buffer } = {};
    const waiting = ring.take(30).then((v) => (got.view = v));
    await new Promise((r) => setImmediate(r));
    assert.equal(got.view === undefined, true, 'still waiting');
    assert.equal(ring.tryTake(5), undefined, 'a waiting take goes first');
    ring.give(a);
    await waiting;
    assert.equal(got.view?.byteOffset, 0);
    await assert.rejects(ring.take(51), RangeError);
  });
});
