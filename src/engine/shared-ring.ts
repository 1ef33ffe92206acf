/**
 * The memory check --read-data reads pack pieces into: one SharedArrayBuffer used as a ring.
 * A piece takes the next free span, is read into it, hashed, and verified by a worker thread
 * that sees the same memory (nothing is copied or transferred), and its span is given back
 * when its verdict arrives. The same pages serve the whole check: a fresh buffer per piece
 * cost a page fault per 4 KiB (about as much CPU as verifying the bytes here) and memory.
 * Spans are taken in order and usually given back in order; one given back early waits for
 * the ones before it.
 */

interface Span {
  start: number;
  end: number;
  given: boolean;
}

export class SharedRing {
  private readonly memory: SharedArrayBuffer;
  /** Spans taken and not yet reclaimed, in the order they were taken. */
  private readonly spans: Span[] = [];
  private readonly waiters: (() => void)[] = [];

  constructor(readonly size: number) {
    this.memory = new SharedArrayBuffer(size);
  }

  /** Where `n` bytes fit now, or -1. */
  private fit(n: number): number {
    if (this.spans.length === 0) return 0;
    const first = this.spans[0].start;
    const last = this.spans[this.spans.length - 1];
    if (last.start >= first) {
      // Not wrapped: free space at the end, then before the first span.
      if (this.size - last.end >= n) return last.end;
      return first >= n ? 0 : -1;
    }
    return first - last.end >= n ? last.end : -1;
  }

  /** A view of `n` free bytes (0 < n <= size), waiting until they are free; give() it back. */
  async take(n: number): Promise<Buffer> {
    if (n <= 0 || n > this.size) throw new RangeError(`a piece of ${n} bytes does not fit the ring`);
    while (this.fit(n) < 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.claim(n, this.fit(n));
  }

  /** A view of `n` free bytes if they are free now and nobody waits, else undefined. */
  tryTake(n: number): Buffer | undefined {
    if (n <= 0 || n > this.size || this.waiters.length > 0) return undefined;
    const start = this.fit(n);
    return start < 0 ? undefined : this.claim(n, start);
  }

  private claim(n: number, start: number): Buffer {
    this.spans.push({ start, end: start + n, given: false });
    return Buffer.from(this.memory, start, n);
  }

  /** Gives back a view take() or tryTake() returned. */
  give(view: Uint8Array): void {
    const span = this.spans.find((s) => s.start === view.byteOffset && !s.given);
    if (!span) return;
    span.given = true;
    while (this.spans.length > 0 && this.spans[0].given) this.spans.shift();
    for (const wake of this.waiters.splice(0)) wake(); // each looks again
  }
}
