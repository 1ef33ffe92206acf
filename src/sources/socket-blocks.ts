/**
 * A stream socket or pipe read straight into the engine's read blocks (engine/block-pool.ts)
 * with `onread`, into the free part of the current block: a child's stdout through a Unix
 * socket holdfast makes itself (openOutputSocket), or holdfast's own stdin when it is a pipe
 * (stdinBlocks). Node's own streams (a child's stdout pipe, process.stdin) instead hand over
 * each read (up to 64 KiB) as a fresh buffer, which the chunker then copies into a block and
 * the collector frees: reading a 1 GB stream that way took 0.65 s more CPU (bench/RESULTS.md).
 * A child's socket lives in a fresh directory only this user can enter, and both are gone
 * once connected. Reading pauses while two full blocks wait for the consumer, so a fast
 * writer waits (its writes block) instead of memory filling.
 */
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BLOCK_SIZE, releaseBlock, takeBlock } from '../engine/block-pool.js';

export interface OutputSocket {
  /** The end to give the child as its stdout; close it here once the child is spawned. */
  childEnd: net.Socket;
  /**
   * Everything written to `childEnd`, as pool blocks: full ones, then the last one's filled part.
   * Each block is the consumer's to release. Ends when every copy of `childEnd` is closed.
   */
  blocks: AsyncIterableIterator<Buffer>;
  /**
   * Stops reading and lets go of the blocks not handed out (also when `blocks` never ran); a
   * read waiting for data ends at once. `blocks.return()` does the same.
   */
  close(): void;
}

/** Full blocks held for the consumer before reading pauses. */
const AHEAD = 2;

/** A connected socket pair: `childEnd` for the child, the other end read into pool blocks. */
export async function openOutputSocket(): Promise<OutputSocket> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'holdfast-out-'));
  const server = net.createServer({ pauseOnConnect: true });
  let reader: BlockReader | undefined;
  try {
    const where = path.join(dir, 'stdout');
    server.listen(where);
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    reader = readIntoBlocks((onread) => net.connect({ path: where, onread }));
    const [childEnd] = await Promise.race([accepted, reader.failed]);
    return { childEnd, blocks: reader.blocks, close: reader.close };
  } catch (err) {
    reader?.close();
    throw err;
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface BlockReader {
  blocks: AsyncIterableIterator<Buffer>;
  /** Rejects when the socket fails. */
  failed: Promise<never>;
  close(): void;
}

/** What the socket `open` makes with the given `onread` reads, as pool blocks. */
function readIntoBlocks(open: (onread: net.OnReadOpts) => net.Socket): BlockReader {
  let block: Buffer | undefined = takeBlock();
  let used = 0;
  const full: Buffer[] = [];
  let ended = false;
  let paused = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const socket = open({
    buffer: () => block!.subarray(used),
    callback: (n: number) => {
      used += n;
      if (used === BLOCK_SIZE) {
        full.push(block!);
        block = takeBlock();
        used = 0;
        notify();
      }
      paused = full.length >= AHEAD;
      return !paused; // false stops reading until resume()
    },
  });
  socket.on('end', () => {
    ended = true;
    notify();
  });
  const failed = new Promise<never>((_, reject) =>
    socket.on('error', (err) => {
      failure = err;
      notify();
      reject(err);
    }),
  );
  failed.catch(() => undefined);
  let closed = false;
  const close = () => {
    closed = true;
    socket.destroy();
    for (const b of full.splice(0)) releaseBlock(b);
    if (block) releaseBlock(block);
    block = undefined;
    notify();
  };
  const done = { value: undefined, done: true } as const;

  // Not an async generator: its return() would wait for a read that may never come.
  const blocks: AsyncIterableIterator<Buffer> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      for (;;) {
        const value = full.shift();
        if (value) {
          if (paused) {
            paused = false;
            socket.resume();
          }
          return { value, done: false };
        }
        if (failure) {
          close();
          throw failure;
        }
        if (closed) return done;
        if (ended) {
          const last = block!.subarray(0, used);
          block = undefined;
          close();
          if (last.length > 0) return { value: last, done: false };
          releaseBlock(last);
          return done;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return() {
      close();
      return done;
    },
  };
  return { blocks, failed, close };
}

/**
 * Holdfast's stdin as a stream for the engine: read into pool blocks when it is a pipe or a
 * socket (`pg_dump | holdfast backup --stdin`), else (a file, a terminal) process.stdin.
 */
export function stdinBlocks(): AsyncIterable<Buffer> {
  const st = fs.fstatSync(0);
  if (!st.isFIFO() && !st.isSocket()) return process.stdin;
  // The constructor takes `onread` as connect() does (Node.js 12.2+); its types lack it.
  const reader = readIntoBlocks(
    (onread) =>
      new net.Socket({ fd: 0, readable: true, writable: false, onread } as net.SocketConstructorOpts),
  );
  return reader.blocks;
}
