/**
 * `vkube port-forward 8080:80 [:9000 …]`: listens on 127.0.0.1 and carries every
 * connection it accepts to a port of the pod, one WebSocket (`GET /k8s/pod/portforward`)
 * per connection, raw bytes both ways. It runs until Ctrl-C.
 *
 * Only loopback: what listens here is a door into the customer's pod, so it is not
 * offered to the machine's network. A local port of 0 (`:80`) takes a free one.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Command } from 'commander';
import type WebSocket from 'ws';
import { connect } from '../api.js';
import { type CommonOptions, examples, withCommonOptions } from '../command-kit.js';
import { resolveLogin } from '../credentials.js';
import { CliError, ExitCode, usageError } from '../errors.js';
import type { Output } from '../output.js';
import { closeText, messageBuffer, openPodSocket } from '../pod-socket.js';

const LISTEN_ADDRESS = '127.0.0.1';
/** Above this much queued one way, the other side is no longer read until it drains. */
const HIGH_WATER = 1024 * 1024;

export interface PortPair {
  local: number;
  remote: number;
}

/** `8080:80`, `:80` (a free local port), `80` (the same port here). */
export function parsePortPair(text: string): PortPair {
  const m = /^(?:(\d*):)?(\d+)$/.exec(text.trim());
  const port = (s: string, what: string, min: number) => {
    const n = Number(s);
    if (!/^\d{1,5}$/.test(s) || n < min || n > 65535) throw usageError(`"${text}": the ${what} port must be a number from ${min} to 65535`);
    return n;
  };
  if (!m) throw usageError(`"${text}" is not a port pair: write LOCAL:POD (8080:80), :POD (a free local port) or PORT`);
  const remote = port(m[2]!, 'pod', 1);
  const local = m[1] === undefined ? remote : m[1] === '' ? 0 : port(m[1], 'local', 0);
  return { local, remote };
}

export function registerPortForward(program: Command, out: Output): void {
  const cmd = withCommonOptions(
    program
      .command('port-forward')
      .description(`carry connections to ${LISTEN_ADDRESS}:LOCAL to a port of the pod, until Ctrl-C`)
      .argument('<ports...>', 'LOCAL:POD pairs: 8080:80, :80 (a free local port), 80 (the same port)'),
  );
  examples(cmd, ['vkube port-forward 8080:80', 'vkube port-forward :5432', 'vkube port-forward 8080:80 8443:443']);
  cmd.addHelpText('after', `\nAny port a process of the pod listens on works, declared in the deploy or not. With --json, one\n{"listening","port"} line per pair once it listens.\n`);
  cmd.action(async (specs: string[], opts: CommonOptions) => {
    const pairs = specs.map(parsePortPair);
    const login = await resolveLogin(opts);
    // Whatever would refuse every connection (no pod, exec turned off, the order ended) is said now, not at the first connection.
    await preflight(login, pairs[0]!.remote);
    await forward(login, pairs, out);
  });
}

/**
 * A plain GET of the endpoint: V-Kube runs its checks, then answers 426 (upgrade
 * required) when a WebSocket would be accepted, or the refusal a WebSocket would get.
 */
async function preflight(login: { server: string; secret: string }, port: number): Promise<void> {
  const api = connect(login.server, { secret: login.secret });
  try {
    await api.call(api.client.GET('/api/v1/k8s/pod/portforward', { params: { query: { port: String(port) } } }));
  } catch (err) {
    if (err instanceof CliError && err.httpStatus === 426) return;
    throw err;
  }
}

function forward(login: { server: string; secret: string }, pairs: PortPair[], out: Output): Promise<void> {
  const servers: Server[] = [];
  const tunnels = new Set<{ socket: Socket; ws?: WebSocket }>();
  return new Promise<void>((resolve, reject) => {
    let over = false;
    const stop = (err?: CliError) => {
      if (over) return;
      over = true;
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
      for (const server of servers) server.close();
      for (const t of tunnels) {
        t.ws?.close(1000);
        t.socket.destroy();
      }
      if (err) reject(err);
      else resolve();
    };
    const onSignal = () => {
      out.progress('Stopped forwarding.');
      stop();
    };
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

    const tunnel = (socket: Socket, pair: PortPair, where: string) => {
      const t: { socket: Socket; ws?: WebSocket } = { socket };
      tunnels.add(t);
      socket.pause();
      socket.on('error', () => socket.destroy());
      socket.once('close', () => {
        tunnels.delete(t);
        t.ws?.close(1000);
      });
      out.progress(`Handling a connection to ${where} (pod port ${pair.remote})`);
      openPodSocket({ server: login.server, secret: login.secret, path: '/api/v1/k8s/pod/portforward', query: [['port', String(pair.remote)]] }).then(
        (ws) => {
          if (socket.destroyed) return void ws.close(1000);
          t.ws = ws;
          relay(socket, ws, (why) => process.stderr.write(`error: ${where} → pod port ${pair.remote}: ${why}\n`));
        },
        (err: CliError) => {
          process.stderr.write(`error: ${where} → pod port ${pair.remote}: ${err.message}\n`);
          socket.destroy();
          // A refusal no later connection can escape (the secret, exec turned off, the order ended) ends the command.
          if (err.exitCode === ExitCode.auth) stop(err);
        },
      );
    };

    let listening = 0;
    for (const pair of pairs) {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
      servers.push(server);
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'the port is in use (pick another, or :PORT for a free one)' : err.message;
        stop(new CliError(`cannot listen on ${LISTEN_ADDRESS}:${pair.local}: ${why}`, err.code === 'EADDRINUSE' ? ExitCode.conflict : ExitCode.generic));
      });
      server.listen(pair.local, LISTEN_ADDRESS, () => {
        const address = server.address();
        const where = typeof address === 'object' && address ? `${LISTEN_ADDRESS}:${address.port}` : `${LISTEN_ADDRESS}:${pair.local}`;
        server.on('connection', (socket) => tunnel(socket, pair, where));
        if (out.json) out.jsonLine({ listening: where, port: pair.remote });
        else out.print(`Forwarding from ${where} -> ${pair.remote}`);
        if (++listening === pairs.length) out.progress('Press Ctrl-C to stop.');
      });
    }
  });
}

/**
 * Bytes both ways with backpressure. The local side's end of input cannot be passed on
 * (the WebSocket carries no half-close), so the tunnel stays until the pod's side closes
 * or the local socket is gone.
 */
function relay(socket: Socket, ws: WebSocket, report: (why: string) => void): void {
  ws.on('message', (raw) => {
    if (!socket.write(messageBuffer(raw))) {
      ws.pause();
      socket.once('drain', () => ws.resume());
    }
  });
  ws.on('error', () => ws.terminate());
  ws.once('close', (code: number, reason: Buffer) => {
    // 1000: the pod's side closed the connection, a normal end; anything else is worth a word.
    if (code !== 1000) report(closeText(code, reason.toString('utf8')));
    if (code === 1000) socket.end();
    else socket.destroy();
  });
  socket.on('data', (chunk: Buffer) => {
    ws.send(chunk, { binary: true }, () => {
      if (socket.isPaused() && ws.bufferedAmount < HIGH_WATER / 4) socket.resume();
    });
    if (ws.bufferedAmount > HIGH_WATER) socket.pause();
  });
  ws.resume();
  socket.resume();
}
