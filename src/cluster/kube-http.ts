/**
 * A small JSON client for the Kubernetes API, on the access that kubeconfig.ts reads.
 *
 * Why not @kubernetes/client-node's generated typed clients: they turn timestamps
 * into Date objects and back, so what we would hand customers would not be what
 * Kubernetes said; they open a new TLS connection per call; they make server-side
 * apply awkward; and the library alone weighs some 80 MB of memory. This keeps
 * keep-alive connection pools and raw JSON in and out.
 *
 * Over HTTP/1.1 every open stream holds a socket for as long as it lasts. With one pool,
 * 64 customers following their logs would leave the Lease renewal, the watches and every
 * apply queued behind them, while the caches still said "healthy". So each kind of call
 * has a pool of its own (a *budget*): a flood of one kind waits only for its own sockets.
 * A call's deadline starts when it is made, so time spent queued for a socket counts.
 */
import { awakeMs } from '../kernel/awake-clock.js';
import { listItems } from '../kernel/list-items.js';
import { type ClusterAccess, fromClientNodeConfig, loadClusterAccess } from './kubeconfig.js';
import { Agent, request as httpsRequest } from 'node:https';
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import type { Readable } from 'node:stream';

export type Query = Record<string, string | number | boolean | undefined>;

/** A failed Kubernetes call: `status` 0 means it never got an HTTP answer. */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly cluster: string,
    options?: { cause?: unknown; detail?: string },
  ) {
    super(`${message} (cluster ${cluster})`, options);
    this.name = 'KubeError';
    this.detail = options?.detail;
  }

  /** The API server's own message (its Status object's), without the request and cluster around it. */
  readonly detail: string | undefined;

  /** The API could not be reached or answered with a server error: retry later. */
  get unreachable(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
}

/**
 * Socket pools, one per kind of call:
 * - `control`: reads and writes that answer at once (apply, prune, delete, metrics, logs read whole);
 * - `watch`: the watch caches' LIST and WATCH and the API heartbeat, one long socket per cache;
 * - `stream`: customers' streams (followed logs, exec and port-forward sessions);
 * - `lease`: leader election, which must renew on time whatever else is busy.
 */
export type Budget = 'control' | 'watch' | 'stream' | 'lease';

export const BUDGETS: readonly Budget[] = ['control', 'watch', 'stream', 'lease'];

/** Default sockets per budget; `stream` is the one a provider may want to raise (VKUBE_KUBE_STREAM_SOCKETS). */
export const DEFAULT_SOCKETS: Record<Budget, number> = { control: 32, watch: 16, stream: 256, lease: 2 };

export interface BudgetUse {
  budget: Budget;
  max: number;
  /** Sockets open (busy or idle in the keep-alive pool). */
  open: number;
  /** Calls waiting for a socket. */
  queued: number;
}

export interface RequestOptions {
  /** Which socket pool carries the call (default: `control`, or `stream` for `stream()`). */
  budget?: Budget;
  query?: Query;
  body?: unknown;
  contentType?: string;
  /**
   * Deadline in ms (default 15 s): for JSON and text calls the whole answer, body
   * included; for streams the response head. 0: none.
   */
  timeoutMs?: number;
  /** Streams only: the longest the whole stream may last (default: until `signal` or the server ends it). */
  streamDeadlineMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 15_000;
/**
 * TCP keep-alive on every connection to the API server: a followed log or a watch may
 * be quiet for minutes, and without probes a peer that vanished (a partition, a
 * crashed node without a reset) would leave the socket open for ever.
 */
const TCP_KEEPALIVE_MS = 30_000;

interface Deadlines {
  /** Until the response head arrives. */
  headMs: number;
  /** Until the response has been read (or the stream closed). */
  totalMs: number;
}

export class KubeHttp {
  readonly server: URL;
  readonly clusterName: string;
  private readonly agents: Record<Budget, HttpAgent | Agent>;
  private readonly tls: { ca?: Buffer | string; cert?: Buffer | string; key?: Buffer | string; rejectUnauthorized?: boolean };
  private authHeaders: Record<string, string> = {};
  private authRefreshedAt = 0;

  /** Sent as User-Agent: names this replica in the API server's audit log. */
  private readonly userAgent: string | undefined;

  constructor(
    private readonly access: ClusterAccess,
    private readonly opts: { authTimeoutMs?: number; userAgent?: string; sockets?: Partial<Record<Budget, number>> } = {},
  ) {
    this.userAgent = opts.userAgent;
    this.server = access.server;
    this.clusterName = access.clusterName;
    this.tls = access.tls;
    const https = this.server.protocol === 'https:';
    const agent = (budget: Budget) => {
      const maxSockets = opts.sockets?.[budget] ?? DEFAULT_SOCKETS[budget];
      // maxTotalSockets too: an agent's maxSockets is per host:port, and a pool is a budget whatever the host.
      const options = { keepAlive: true, maxSockets, maxTotalSockets: maxSockets };
      return https ? new Agent({ ...options, ...this.tls }) : new HttpAgent(options);
    };
    this.agents = { control: agent('control'), watch: agent('watch'), stream: agent('stream'), lease: agent('lease') };
  }

  /** How full each socket pool is, for /metrics. */
  budgets(): BudgetUse[] {
    const count = (table: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(table).reduce((n, list) => n + (list?.length ?? 0), 0);
    return BUDGETS.map((budget) => {
      const a = this.agents[budget];
      return { budget, max: a.maxSockets, open: count(a.sockets) + count(a.freeSockets), queued: count(a.requests) };
    });
  }

  /** The agent of a budget, for callers that open their own connections (WebSockets) to the API server. */
  agentFor(budget: Budget): HttpAgent | Agent {
    return this.agents[budget];
  }

  /**
   * The cluster a kubeconfig file names (or the in-cluster service account when
   * undefined): its current context, or `context`; `name` replaces the kubeconfig's
   * cluster name in messages (one V-Kube driving several clusters names each itself).
   */
  static async connect(
    kubeconfig: string | undefined,
    opts: { userAgent?: string; sockets?: Partial<Record<Budget, number>>; context?: string; name?: string } = {},
  ): Promise<KubeHttp> {
    const { context, name, ...rest } = opts;
    const access = await loadClusterAccess(kubeconfig, context);
    return new KubeHttp(name ? { ...access, clusterName: name } : access, rest);
  }

  /** From a @kubernetes/client-node KubeConfig, as tests and dev scripts hold them. */
  static async fromKubeConfig(kc: Parameters<typeof fromClientNodeConfig>[0]): Promise<KubeHttp> {
    return new KubeHttp(await fromClientNodeConfig(kc));
  }

  /**
   * Bearer tokens rotate (projected service-account tokens, exec plugins): re-read them
   * now and then. An exec plugin is a process of its own that may hang, and a token file
   * may be gone: either fails the call (unreachable, 503) instead of holding or crashing it.
   */
  private async headers(what: string): Promise<Record<string, string>> {
    if (Date.now() - this.authRefreshedAt > 30_000) {
      const ms = this.opts.authTimeoutMs ?? DEFAULT_TIMEOUT_MS;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the kubeconfig's credentials did not come within ${ms} ms`)), ms);
      });
      try {
        this.authHeaders = await Promise.race([this.access.authHeaders(), timeout]);
      } catch (err) {
        throw new KubeError(0, 'Unauthenticated', `${what}: no credentials: ${(err as Error).message}`, this.clusterName, { cause: err });
      } finally {
        clearTimeout(timer);
      }
      this.authRefreshedAt = Date.now();
    }
    return this.authHeaders;
  }

  /**
   * What kube-websocket.ts needs to open a WebSocket (exec, port-forward) as this client:
   * the same credentials, TLS settings and User-Agent. Kept to this one method so the
   * connection pool above stays this class's own business.
   */
  async upgradeOptions(what: string): Promise<{ headers: Record<string, string>; tls: { ca?: Buffer | string; cert?: Buffer | string; key?: Buffer | string; rejectUnauthorized?: boolean } }> {
    return { headers: { ...(await this.headers(what)), ...(this.userAgent ? { 'user-agent': this.userAgent } : {}) }, tls: this.tls };
  }

  async get<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.json<T>('GET', path, opts);
  }

  /**
   * GET of a list that cannot be paginated (the metrics API's), its items parsed a few
   * at a time so a large one does not hold the event loop (kernel/list-items.ts).
   */
  async listItems<T>(path: string, opts: RequestOptions = {}): Promise<T[]> {
    return listItems<T>(await this.exchange('GET', path, opts));
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

  /** RFC 6902: a failed `test` fails the whole patch (422) and changes nothing. */
  async jsonPatch<T>(path: string, ops: unknown[], opts: RequestOptions = {}): Promise<T> {
    return this.json<T>('PATCH', path, { ...opts, body: ops, contentType: 'application/json-patch+json' });
  }

  /** GET returning the body as text (pod logs). */
  async text(path: string, opts: RequestOptions = {}): Promise<string> {
    return this.exchange('GET', path, opts);
  }

  /** GET whose body is streamed to the caller (watches, followed logs). Abort with `signal`. */
  async stream(path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const res = await this.send('GET', path, { budget: 'stream', ...opts }, { headMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, totalMs: opts.streamDeadlineMs ?? 0 });
    if (res.statusCode! >= 400) throw kubeErrorFrom(res.statusCode!, await this.readBody(res, 'GET', path), `GET ${path}`, this.clusterName);
    return res;
  }

  private async json<T>(method: string, path: string, opts: RequestOptions): Promise<T> {
    const body = await this.exchange(method, path, opts);
    return (body ? JSON.parse(body) : undefined) as T;
  }

  /** One request whose whole answer, body included, must arrive within the deadline. */
  private async exchange(method: string, path: string, opts: RequestOptions): Promise<string> {
    const res = await this.send(method, path, opts, { headMs: 0, totalMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    const body = await this.readBody(res, method, path);
    if (res.statusCode! >= 400) throw kubeErrorFrom(res.statusCode!, body, `${method} ${path}`, this.clusterName);
    return body;
  }

  /** The body; a connection lost or a deadline passed while reading it is a KubeError like any other. */
  private async readBody(res: IncomingMessage, method: string, path: string): Promise<string> {
    try {
      return await readAll(res);
    } catch (err) {
      throw new KubeError(0, 'Unreachable', `${method} ${path}: ${(err as Error).message}`, this.clusterName, { cause: err });
    }
  }

  private async send(method: string, path: string, opts: RequestOptions, deadlines: Deadlines): Promise<IncomingMessage> {
    const url = new URL(this.server.pathname.replace(/\/$/, '') + path, this.server);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string | number> = { ...(await this.headers(`${method} ${url.pathname}`)), accept: 'application/json', ...(this.userAgent ? { 'user-agent': this.userAgent } : {}) };
    if (payload) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = payload.length;
    }
    return new Promise((resolve, reject) => {
      let response: IncomingMessage | undefined;
      let finished = false;
      const clear = () => {
        finished = true;
        head.clear();
        total.clear();
      };
      const fail = (err: Error) => {
        clear();
        reject(new KubeError(0, 'Unreachable', `${method} ${url.pathname}: ${err.message}`, this.clusterName, { cause: err }));
      };
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        { method, headers, agent: this.agents[opts.budget ?? 'control'], signal: opts.signal },
        (res) => {
          response = res;
          head.clear();
          res.once('end', clear);
          res.once('close', clear);
          resolve(res);
        },
      );
      // Timers run before the event loop reads its sockets: when this process was busy (a long
      // synchronous task, a stop by the scheduler) past the deadline, the answer may be waiting
      // unread. The deadline is judged once more after the sockets have been read, and on the
      // awake clock, so a busy or stopped process does not take its own delay for the API
      // server's silence: a request it had not even sent yet gets its whole time.
      const startedAwake = awakeMs();
      const deadline = (ms: number, what: string, met: () => boolean) => {
        let timer: NodeJS.Timeout | undefined;
        const expire = () =>
          setImmediate(() => {
            if (met()) return;
            const left = ms - (awakeMs() - startedAwake);
            if (left > 0) {
              timer = setTimeout(expire, left);
              return;
            }
            const err = new Error(`${what} within ${ms} ms`);
            // Destroying the response (not the request) hands the reader this message instead of a bare "aborted".
            if (response) response.destroy(err);
            else req.destroy(err);
          });
        if (ms > 0) timer = setTimeout(expire, ms);
        return { clear: () => clearTimeout(timer) };
      };
      const head = deadline(deadlines.headMs, 'no answer', () => finished || response !== undefined);
      const total = deadline(deadlines.totalMs, 'not finished', () => finished || response?.complete === true);
      req.on('socket', (socket) => socket.setKeepAlive(true, TCP_KEEPALIVE_MS));
      req.on('error', fail);
      req.end(payload);
    });
  }

  close(): void {
    for (const a of Object.values(this.agents)) a.destroy();
  }
}

/** The error of an answer ≥ 400, with Kubernetes' own reason and message when the body is a Status object. */
export function kubeErrorFrom(status: number, body: string, what: string, cluster: string): KubeError {
  let reason = 'Unknown';
  let message = body.slice(0, 500);
  try {
    const s = JSON.parse(body) as { reason?: string; message?: string };
    reason = s.reason ?? reason;
    message = s.message ?? message;
  } catch {
    // not a Status object
  }
  return new KubeError(status, reason, `${what}: ${status} ${message}`, cluster, { detail: message });
}

function readAll(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}
