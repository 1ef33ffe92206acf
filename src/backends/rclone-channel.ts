/**
 * A connected pair of Unix stream sockets, one end for a child's stdin and stdout and the
 * other for us, made through a one-shot listener in a private temporary directory (Node has
 * no socketpair()). HTTP/2 over a real socket runs on its native handle; over a JS stream
 * wrapper (stdin + stdout joined by Duplex.from) Node 20 can fail an internal assertion
 * when the child exits while a write is pending.
 */
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface SocketChannel {
  /** Our end, for the HTTP/2 session. */
  readonly ours: net.Socket;
  /** The child's end, paused (nothing reads from it here): give it as stdio, then close it. */
  readonly theirs: net.Socket;
}

/** Opens a connected socket pair; rejects if the listener or the connection fails. */
export async function socketChannel(): Promise<SocketChannel> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'holdfast-rclone-'));
  const where = path.join(dir, 's');
  // pauseOnConnect: the accepted socket must not read, or it would take the child's input.
  const server = net.createServer({ pauseOnConnect: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(where, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const ours = net.connect(where);
    try {
      await new Promise<void>((resolve, reject) => {
        ours.once('error', reject);
        ours.once('connect', () => {
          ours.off('error', reject);
          resolve();
        });
      });
      // The directory is ours alone (mode 0700), so the one connection is the one we made.
      return { ours, theirs: await accepted };
    } catch (err) {
      ours.destroy();
      throw err;
    }
  } finally {
    server.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
