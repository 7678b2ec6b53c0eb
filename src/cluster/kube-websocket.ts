/**
 * WebSockets to the Kubernetes API server (pods/exec, pods/portforward), with the same
 * credentials, TLS settings and User-Agent as KubeHttp. The API server translates them
 * to the kubelet's streams itself (Kubernetes ≥ 1.30 for v5.channel.k8s.io), so nothing
 * here speaks SPDY.
 *
 * A refused upgrade (no such pod or container, RBAC, admission) answers HTTP with a
 * metav1.Status: it becomes a KubeError with that status and message, like any other
 * failed call, so kubernetes-gateway.ts maps it the same way.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { PodStream } from './gateway.js';
import { KubeError, type KubeHttp, kubeErrorFrom } from './kube-http.js';

/** The largest message accepted from the API server (it sends at most 32 KiB per frame today). */
const MAX_PAYLOAD = 4 * 1024 * 1024;

export interface KubeWebSocketOptions {
  /** Query parameters, repeated keys allowed (`command` once per argument). */
  query: Array<[string, string | number | boolean]>;
  /** Subprotocols offered, preferred first. */
  protocols: string[];
  /** Until the upgrade is answered (default 15 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Opens `path` (e.g. /api/v1/namespaces/ns/pods/p/exec) as a WebSocket; resolves once the upgrade is accepted. */
export async function openKubeWebSocket(http: KubeHttp, path: string, opts: KubeWebSocketOptions): Promise<PodStream> {
  const what = `CONNECT ${path}`;
  const { headers, tls } = await http.upgradeOptions(what);
  const url = new URL(http.server.pathname.replace(/\/$/, '') + path, http.server);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [k, v] of opts.query) url.searchParams.append(k, String(v));
  const timeoutMs = opts.timeoutMs ?? 15_000;

  return new Promise<PodStream>((resolve, reject) => {
    const ws = new WebSocket(url, opts.protocols, {
      headers,
      ...tls,
      handshakeTimeout: timeoutMs,
      maxPayload: MAX_PAYLOAD,
      // The frames are mostly small and interactive; compressing them costs latency and CPU for little.
      perMessageDeflate: false,
      followRedirects: false,
    });
    let settled = false;
    const fail = (err: KubeError) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      ws.terminate();
      reject(err);
    };
    const onAbort = () => fail(new KubeError(0, 'Aborted', `${what}: the caller went away`, http.clusterName));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
      res.on('end', () => fail(kubeErrorFrom(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), what, http.clusterName)));
      res.on('error', (err) => fail(new KubeError(0, 'Unreachable', `${what}: ${err.message}`, http.clusterName, { cause: err })));
    });
    ws.once('error', (err) => fail(new KubeError(0, 'Unreachable', `${what}: ${err.message}`, http.clusterName, { cause: err })));
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(new WsPodStream(ws));
    });
  });
}

/** An open WebSocket to the API server as the gateway's PodStream. */
class WsPodStream extends EventEmitter implements PodStream {
  readonly protocol: string;
  closed = false;

  constructor(private readonly ws: WebSocket) {
    super();
    this.protocol = ws.protocol;
    // Paused from the moment it opens (see PodStream): bytes that came with the upgrade
    // answer are read on a later tick, before the caller could have attached a listener.
    ws.pause();
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      // Only the binary protocols are offered; a text message would be the base64 variant, which is never agreed.
      if (isBinary) this.emit('frame', buf);
    });
    // After open, errors end the stream; 'close' follows and says so once.
    ws.on('error', () => ws.terminate());
    ws.once('close', (code: number, reason: Buffer) => {
      this.closed = true;
      this.emit('close', code, reason.toString('utf8'));
    });
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  send(frame: Buffer, done?: (err?: Error) => void): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) {
      done?.(new Error('the stream to the cluster is closed'));
      return;
    }
    this.ws.send(frame, { binary: true }, done);
  }

  pause(): void {
    if (!this.closed) this.ws.pause();
  }

  resume(): void {
    if (!this.closed) this.ws.resume();
  }

  close(): void {
    if (this.closed) return;
    // A close handshake first; a peer that does not answer it is cut off.
    this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }
}
