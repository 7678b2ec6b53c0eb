/**
 * The one HTTP client every measurement goes through: node:http(s) over a keep-alive
 * agent, body read whole. V-Kube (plain HTTP) and kube-apiserver (HTTPS, client
 * certificate) are driven by the same code, so client overhead is alike on both sides.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions, request as httpsRequest } from 'node:https';

export interface Endpoint {
  base: URL;
  agent: HttpAgent;
  headers?: Record<string, string>;
}

export interface Response {
  status: number;
  body: Buffer;
  json<T = unknown>(): T;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

export type Tls = Pick<HttpsAgentOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'>;

/** An endpoint with its own pool of at most `sockets` keep-alive connections. */
export function endpoint(url: string, sockets: number, tls: Tls = {}, headers: Record<string, string> = {}): Endpoint {
  const base = new URL(url);
  const options = { keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: 'lifo' as const };
  const agent = base.protocol === 'https:' ? new HttpsAgent({ ...options, ...tls }) : new HttpAgent(options);
  return { base, agent, headers };
}

export function request(ep: Endpoint, method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const payload = opts.body === undefined ? undefined : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
  const headers: Record<string, string> = { accept: 'application/json', ...ep.headers, ...opts.headers };
  if (payload) {
    headers['content-type'] = opts.contentType ?? 'application/json';
    headers['content-length'] = String(payload.length);
  }
  const send = ep.base.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      { protocol: ep.base.protocol, hostname: ep.base.hostname, port: ep.base.port, path, method, headers, agent: ep.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, body, json: <T>() => JSON.parse(body.toString('utf8')) as T });
        });
      },
    );
    req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(new Error(`${method} ${path}: no answer in ${opts.timeoutMs ?? 60_000} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** `request` that insists on a 2xx answer and returns its JSON. */
export async function call<T>(ep: Endpoint, method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await request(ep, method, path, opts);
  if (res.status < 200 || res.status >= 300) throw new HttpError(method, path, res.status, res.body.toString('utf8').slice(0, 300));
  return res.body.length ? res.json<T>() : (undefined as T);
}

export class HttpError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly detail: string,
  ) {
    super(`${method} ${path}: HTTP ${status} ${detail}`);
    this.name = 'HttpError';
  }
}

export function withQuery(path: string, query: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
