/**
 * A loopback TCP proxy a test can break in three ways, as networks and servers break:
 * - `cut()`: every connection dropped and new ones refused (a crash, a reset);
 * - `blackHole()`: connections accepted and kept, nothing passed either way (a server or
 *   a firewall that swallows packets); what was held is delivered on `restore()`, as TCP
 *   would retransmit it once the path is back, to the connections still open;
 * - `delay(ms)`: everything the server sends arrives `ms` late, in order (a slow server).
 */
import { type Server, type Socket, connect, createServer } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Drops every open connection and refuses new ones until `restore`. */
  cut(): void;
  /** Accepts connections and holds every byte, both ways, until `restore`. */
  blackHole(): void;
  /** Holds what the server sends for `ms` before passing it on (0: no delay). */
  delay(ms: number): void;
  /** Back to passing everything at once; held bytes go on to connections still open. */
  restore(): void;
  /** Connections accepted so far (a black hole still accepts). */
  readonly accepted: number;
  close(): Promise<void>;
}

type Mode = 'pass' | 'cut' | 'hole';

interface Link {
  client: Socket;
  upstream: Socket;
  /** Bytes held by a black hole, per direction, in order. */
  held: { up: Buffer[]; down: Buffer[] };
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let mode: Mode = 'pass';
  let delayMs = 0;
  let accepted = 0;
  const links = new Set<Link>();

  const server: Server = createServer((client) => {
    if (mode === 'cut') {
      client.destroy();
      return;
    }
    accepted++;
    const upstream = connect(targetPort, targetHost);
    const link: Link = { client, upstream, held: { up: [], down: [] } };
    links.add(link);
    const end = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('close', end);
      s.on('error', end);
    }
    client.on('data', (chunk: Buffer) => {
      if (mode === 'hole') link.held.up.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (mode === 'hole') link.held.down.push(chunk);
      else if (delayMs > 0) setTimeout(() => client.write(chunk), delayMs);
      else client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as { port: number }).port,
    get accepted() {
      return accepted;
    },
    cut() {
      mode = 'cut';
      for (const l of links) {
        l.client.destroy();
        l.upstream.destroy();
      }
    },
    blackHole() {
      mode = 'hole';
    },
    delay(ms: number) {
      delayMs = ms;
    },
    restore() {
      mode = 'pass';
      delayMs = 0;
      for (const l of links) {
        for (const chunk of l.held.up.splice(0)) l.upstream.write(chunk);
        for (const chunk of l.held.down.splice(0)) l.client.write(chunk);
      }
    },
    close: () =>
      new Promise((resolve) => {
        for (const l of links) {
          l.client.destroy();
          l.upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
