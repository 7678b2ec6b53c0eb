/**
 * WebSockets from `vkube` to V-Kube's session endpoints (interactive exec, port-forward).
 * The secret goes in the `secret` header, as on every other call; V-Kube checks
 * everything before it accepts the upgrade, so a refusal is an HTTP answer in the error
 * envelope, which becomes a CliError with the exit code any other call would give.
 */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { CliError, ExitCode, fromHttpStatus } from './errors.js';

/** How long the upgrade may take: V-Kube opens the stream to the API server before it answers. */
const UPGRADE_TIMEOUT_MS = 30_000;

export interface PodSocketOptions {
  server: string;
  secret: string;
  /** e.g. `/api/v1/k8s/pod/exec` */
  path: string;
  query: Array<[string, string]>;
  protocols?: string[];
}

/** Resolves with the open socket (paused until the caller resumes it), or rejects with a CliError. */
export function openPodSocket(opts: PodSocketOptions): Promise<WebSocket> {
  const url = new URL(`${opts.server}${opts.path}`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [k, v] of opts.query) url.searchParams.append(k, v);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts.protocols ?? [], {
      headers: { secret: opts.secret },
      handshakeTimeout: UPGRADE_TIMEOUT_MS,
      perMessageDeflate: false,
      followRedirects: false,
    });
    let settled = false;
    const fail = (err: CliError) => {
      if (settled) return;
      settled = true;
      ws.terminate();
      reject(err);
    };
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => body.length < 64 * 1024 && (body += d));
      res.on('end', () => fail(refusal(res.statusCode ?? 0, body, opts.server)));
      res.on('error', (err) => fail(new CliError(`cannot reach V-Kube at ${opts.server}: ${err.message}`, ExitCode.unavailable)));
    });
    ws.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code ? `${err.message} (${err.code})` : err.message;
      fail(new CliError(`cannot reach V-Kube at ${opts.server}: ${why}`, ExitCode.unavailable));
    });
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      // Nothing is read until the caller has its listeners in place.
      ws.pause();
      resolve(ws);
    });
  });
}

/** A refused upgrade: the envelope's message with the exit code of its status. */
function refusal(status: number, body: string, server: string): CliError {
  let message = body.trim().slice(0, 500) || `HTTP ${status}`;
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
  } catch {
    // not the envelope (a proxy's page): its text is the best there is
  }
  return fromHttpStatus(status, message, server);
}

/** A message as one Buffer, whatever form ws hands it in. */
export function messageBuffer(data: WebSocket.RawData): Buffer {
  return Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** Why V-Kube closed a session, for a message: the reason it gave, else the close code's meaning. */
export function closeText(code: number, reason: string): string {
  if (reason) return `${reason} (WebSocket close ${code})`;
  if (code === 1006) return 'the connection to V-Kube was lost';
  return `WebSocket close ${code}`;
}

/** A command's own exit code becomes the CLI's (not one of `vkube`'s own failure codes). */
export class CommandExit extends Error {
  constructor(readonly code: number) {
    super(`the command exited with code ${code}`);
    this.name = 'CommandExit';
  }
}
