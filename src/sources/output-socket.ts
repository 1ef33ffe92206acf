/**
 * A child process's stdout read straight into the engine's read blocks (engine/block-pool.ts):
 * the child writes into one end of a Unix socket that holdfast makes itself, and the other end
 * is read with `onread` into the free part of the current block. A pipe that Node makes for a
 * child instead hands over each read (up to 64 KiB) as a fresh buffer, which the chunker then
 * copies into a block and the collector frees; reading a 1 GB pg_dump this way took 0.3 s less
 * CPU (bench/RESULTS.md). The socket lives in a fresh directory only this user can enter, and
 * both are gone once connected. Reading pauses while two full blocks wait for the consumer, so
 * a fast child waits (its writes block) instead of filling memory.
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
  blocks: AsyncGenerator<Buffer>;
  /** Stops reading and lets go of the blocks not handed out (also when `blocks` never ran). */
  close(): void;
}

/** Full blocks held for the consumer before reading pauses. */
const AHEAD = 2;

/** A connected socket pair: `childEnd` for the child, the other end read into pool blocks. */
export async function openOutputSocket(): Promise<OutputSocket> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'holdfast-out-'));
  const server = net.createServer({ pauseOnConnect: true });
  let reader: ReturnType<typeof blockReader> | undefined;
  try {
    const where = path.join(dir, 'stdout');
    server.listen(where);
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    reader = blockReader(where);
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

function blockReader(where: string) {
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
  const socket = net.connect({
    path: where,
    onread: {
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
  const close = () => {
    socket.destroy();
    for (const b of full.splice(0)) releaseBlock(b);
    if (block) releaseBlock(block);
    block = undefined;
  };

  async function* blocks(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const next = full.shift();
        if (next) {
          if (paused) {
            paused = false;
            socket.resume();
          }
          yield next;
        } else if (failure) throw failure;
        else if (ended) {
          const last = block!.subarray(0, used);
          block = undefined;
          if (last.length > 0) yield last;
          else releaseBlock(last);
          return;
        } else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      close();
    }
  }
  return { blocks: blocks(), failed, close };
}
