/**
 * A small JSON client for the Kubernetes API, on the access that kubeconfig.ts reads.
 *
 * Why not @kubernetes/client-node's generated typed clients: they turn timestamps
 * into Date objects and back, so what we would hand customers would not be what
 * Kubernetes said; they open a new TLS connection per call; they make server-side
 * apply awkward; and the library alone weighs some 80 MB of memory. This keeps one
 * keep-alive connection pool and raw JSON in and out.
 */
import { type ClusterAccess, fromClientNodeConfig, loadClusterAccess } from './kubeconfig.js';
import { Agent, request as httpsRequest } from 'node:https';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import type { Readable } from 'node:stream';

export type Query = Record<string, string | number | boolean | undefined>;

/** A failed Kubernetes call: `status` 0 means it never got an HTTP answer. */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly cluster: string,
    options?: { cause?: unknown },
  ) {
    super(`${message} (cluster ${cluster})`, options);
    this.name = 'KubeError';
  }

  /** The API could not be reached or answered with a server error: retry later. */
  get unreachable(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class KubeHttp {
  readonly server: URL;
  readonly clusterName: string;
  private readonly agent: Agent | undefined;
  private readonly tls: { ca?: Buffer | string; cert?: Buffer | string; key?: Buffer | string; rejectUnauthorized?: boolean };
  private authHeaders: Record<string, string> = {};
  private authRefreshedAt = 0;

  /** Sent as User-Agent: names this replica in the API server's audit log. */
  private readonly userAgent: string | undefined;

  constructor(
    private readonly access: ClusterAccess,
    opts: { userAgent?: string } = {},
  ) {
    this.userAgent = opts.userAgent;
    this.server = access.server;
    this.clusterName = access.clusterName;
    this.tls = access.tls;
    this.agent = this.server.protocol === 'https:' ? new Agent({ keepAlive: true, maxSockets: 64, ...this.tls }) : undefined;
  }

  /** The cluster a kubeconfig file names (or the in-cluster service account when undefined). */
  static async connect(kubeconfig: string | undefined, opts: { userAgent?: string } = {}): Promise<KubeHttp> {
    return new KubeHttp(await loadClusterAccess(kubeconfig), opts);
  }

  /** From a @kubernetes/client-node KubeConfig, as tests and dev scripts hold them. */
  static async fromKubeConfig(kc: Parameters<typeof fromClientNodeConfig>[0]): Promise<KubeHttp> {
    return new KubeHttp(await fromClientNodeConfig(kc));
  }

  /** Bearer tokens rotate (projected service-account tokens, exec plugins): re-read them now and then. */
  private async headers(): Promise<Record<string, string>> {
    if (Date.now() - this.authRefreshedAt > 30_000) {
      this.authHeaders = await this.access.authHeaders();
      this.authRefreshedAt = Date.now();
    }
    return this.authHeaders;
  }

  async get<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.json<T>('GET', path, opts);
  }

  async delete<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.json<T>('DELETE', path, opts);
  }

  async post<T>(path: string, body: unknown, opts: RequestOptions = {}): Promise<T> {
    return this.json<T>('POST', path, { ...opts, body });
  }

  async put<T>(path: string, body: unknown, opts: RequestOptions = {}): Promise<T> {
    return this.json<T>('PUT', path, { ...opts, body });
  }

  /** Server-side apply: creates or updates `body` as owned by `fieldManager`. */
  async apply<T>(path: string, body: unknown, fieldManager: string, opts: RequestOptions = {}): Promise<T> {
    return this.json<T>('PATCH', path, {
      ...opts,
      body,
      contentType: 'application/apply-patch+yaml',
      query: { ...opts.query, fieldManager, force: true },
    });
  }

  async mergePatch<T>(path: string, body: unknown, opts: RequestOptions = {}): Promise<T> {
    return this.json<T>('PATCH', path, { ...opts, body, contentType: 'application/merge-patch+json' });
  }

  /** GET returning the body as text (pod logs). */
  async text(path: string, opts: RequestOptions = {}): Promise<string> {
    const res = await this.send('GET', path, opts);
    const body = await readAll(res);
    if (res.statusCode! >= 400) throw this.errorFrom(res.statusCode!, body, `GET ${path}`);
    return body;
  }

  /** GET whose body is streamed to the caller (watches, followed logs). Abort with `signal`. */
  async stream(path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const res = await this.send('GET', path, { ...opts, timeoutMs: opts.timeoutMs ?? 0 });
    if (res.statusCode! >= 400) throw this.errorFrom(res.statusCode!, await readAll(res), `GET ${path}`);
    return res;
  }

  private async json<T>(method: string, path: string, opts: RequestOptions): Promise<T> {
    const res = await this.send(method, path, opts);
    const body = await readAll(res);
    if (res.statusCode! >= 400) throw this.errorFrom(res.statusCode!, body, `${method} ${path}`);
    return (body ? JSON.parse(body) : undefined) as T;
  }

  private async send(method: string, path: string, opts: RequestOptions): Promise<IncomingMessage> {
    const url = new URL(this.server.pathname.replace(/\/$/, '') + path, this.server);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string | number> = { ...(await this.headers()), accept: 'application/json', ...(this.userAgent ? { 'user-agent': this.userAgent } : {}) };
    if (payload) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = payload.length;
    }
    const timeoutMs = opts.timeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => reject(new KubeError(0, 'Unreachable', `${method} ${url.pathname}: ${err.message}`, this.clusterName, { cause: err }));
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        { method, headers, agent: this.agent, ...(this.agent ? {} : this.tls), signal: opts.signal },
        resolve,
      );
      if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', fail);
      req.end(payload);
    });
  }

  private errorFrom(status: number, body: string, what: string): KubeError {
    let reason = 'Unknown';
    let message = body.slice(0, 500);
    try {
      const s = JSON.parse(body) as { reason?: string; message?: string };
      reason = s.reason ?? reason;
      message = s.message ?? message;
    } catch {
      // not a Status object
    }
    return new KubeError(status, reason, `${what}: ${status} ${message}`, this.clusterName);
  }

  close(): void {
    this.agent?.destroy();
  }
}

function readAll(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}
