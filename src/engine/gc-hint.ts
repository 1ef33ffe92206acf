/**
 * Prompt collection of dead buffers. Buffers live outside the JavaScript heap, which stays
 * small, so V8 collects them late: a thread that turns over hundreds of MB of blobs would
 * hold many dead ones. `collectGarbageEvery(bytes)` runs a young-generation collection (about
 * a millisecond here) each time that many bytes have passed through; it does nothing when
 * the runtime does not offer one.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (opts?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

function findGc(): Gc | undefined {
  const existing = (globalThis as { gc?: Gc }).gc;
  if (existing) return existing;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as Gc;
  } catch {
    return undefined;
  }
}

const gc = findGc();

/** Returns a function to call with each buffer's size; it collects after every `every` bytes. */
export function collectGarbageEvery(every: number): (bytes: number) => void {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < every || !gc) return;
    since = 0;
    gc({ type: 'minor' });
  };
}
