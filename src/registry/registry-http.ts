/**
 * One HTTP exchange with a registry or its token service: a per-request timeout,
 * retries with exponential backoff and jitter for answers that mean "try again"
 * (5xx, 429, dropped or refused connections, timeouts), and an overall deadline
 * that no retry may outlive.
 *
 * Whatever cannot be settled by retrying becomes `RegistryUnreachable`, whose
 * message names hosts and statuses, never headers. A connection the address policy
 * refused becomes `RegistryRefused` at once: retrying would be refused again.
 */
import { AddressRefused, hostPort, hostPortOf } from './address-policy.js';
import type { RegistryFetch } from './guarded-transport.js';

export class RegistryUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryUnreachable';
  }
}

/**
 * The address policy refused a connection of the exchange: nothing was sent there.
 * The message says which address and why, for the provider's log, not for callers.
 */
export class RegistryRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryRefused';
  }
}

export interface RetryPolicy {
  /** Longest wait for one answer, in ms. */
  timeoutMs: number;
  /** Extra attempts after the first. */
  retries: number;
  /** First backoff delay; doubles with each retry. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Longest `Retry-After` wait honoured; a longer ask is shortened to this. */
  retryAfterCapMs: number;
}

export interface HttpDeps {
  fetch: RegistryFetch;
  sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for jitter. */
  random: () => number;
  now: () => number;
}

export interface Exchange {
  url: URL;
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  /** What to call the other side in messages, e.g. `registry ghcr.io`. */
  peer: string;
  /** Epoch ms after which nothing more is attempted. */
  deadline: number;
}

/**
 * Sends the request until it gets an answer that retrying would not change. The
 * caller owns the returned response's body. Throws `RegistryUnreachable` otherwise.
 */
export async function sendWithRetries(exchange: Exchange, policy: RetryPolicy, deps: HttpDeps): Promise<Response> {
  let lastProblem = `${exchange.peer} did not answer`;
  for (let attempt = 0; ; attempt++) {
    const remaining = exchange.deadline - deps.now();
    if (remaining <= 0) throw new RegistryUnreachable(`${lastProblem} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'})`);
    const timeoutMs = Math.min(policy.timeoutMs, remaining);

    let delayMs = backoffDelay(attempt, policy, deps.random);
    try {
      const response = await deps.fetch(exchange.url, {
        method: exchange.method,
        headers: exchange.headers,
        redirect: 'follow',
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!isRetryableStatus(response.status)) return response;
      lastProblem = `${exchange.peer} answered HTTP ${response.status}`;
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), deps.now());
      await discardBody(response);
      // The registry knows best when it can answer again, but a long ask must not
      // stall a customer's request: capped here, and bounded by the deadline below.
      if (retryAfterMs !== undefined) delayMs = Math.max(delayMs, Math.min(retryAfterMs, policy.retryAfterCapMs));
    } catch (err) {
      if (err instanceof RegistryUnreachable) throw err;
      const refused = findCause(err, (cause): cause is AddressRefused => cause instanceof AddressRefused);
      if (refused) throw new RegistryRefused(refusalMessage(exchange, refused));
      const failure = describeFetchFailure(err, exchange.peer, timeoutMs);
      if (!failure.retryable) throw new RegistryUnreachable(failure.message);
      lastProblem = failure.message;
    }

    const tries = attempt + 1;
    const outOfTime = deps.now() + delayMs >= exchange.deadline;
    if (tries > policy.retries || outOfTime) {
      throw new RegistryUnreachable(`${lastProblem} (gave up after ${tries} attempt${tries === 1 ? '' : 's'})`);
    }
    await deps.sleep(delayMs);
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Exponential, capped, with "equal jitter": between half and all of the step. */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'backoffBaseMs' | 'backoffMaxMs'>, random: () => number): number {
  const step = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** attempt);
  return Math.round(step / 2 + (step / 2) * random());
}

/** `Retry-After` as delta-seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

interface FetchFailure {
  message: string;
  retryable: boolean;
}

/** Turns what fetch throws (undici wraps the socket error in `cause`) into words and a retry decision. */
export function describeFetchFailure(err: unknown, peer: string, timeoutMs: number): FetchFailure {
  if (isNamed(err, 'TimeoutError') || isNamed(err, 'AbortError')) {
    return { message: `${peer} did not answer within ${timeoutMs} ms`, retryable: true };
  }
  const code = errorCode(err);
  switch (code) {
    case 'ENOTFOUND':
      // The name does not resolve: asking again in a few hundred ms will not change that.
      return { message: `${peer}: host name not found (DNS)`, retryable: false };
    case 'EAI_AGAIN':
      return { message: `${peer}: DNS lookup failed temporarily`, retryable: true };
    case 'ECONNREFUSED':
      return { message: `${peer} refused the connection`, retryable: true };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return { message: `${peer} closed the connection`, retryable: true };
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return { message: `${peer}: connection timed out`, retryable: true };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { message: `${peer}: no route to host`, retryable: true };
  }
  if (code && (code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('ERR_SSL'))) {
    return { message: `${peer}: TLS failed (${code})`, retryable: false };
  }
  const text = code ?? innermostMessage(err);
  return { message: `${peer} could not be reached (${text})`, retryable: true };
}

/** Names the step that was refused: the peer itself, or where it redirected the request. */
function refusalMessage(exchange: Exchange, refused: AddressRefused): string {
  return hostPort(refused.host, refused.port) === hostPortOf(exchange.url) ? `${exchange.peer}: ${refused.message}` : `${exchange.peer} redirected the request: ${refused.message}`;
}

/** Lets the connection go back to the pool without reading what nobody needs. */
export async function discardBody(response: Response): Promise<void> {
  if (!response.body) return;
  try {
    await response.body.cancel();
  } catch {
    // Already consumed or the socket is gone: either way nothing is left to free.
  }
}

/** The body, or undefined when it is larger than `limitBytes` (then the rest is not read). */
export async function readBodyLimited(response: Response, limitBytes: number): Promise<Uint8Array | undefined> {
  if (!response.body) return new Uint8Array();
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limitBytes) {
    await discardBody(response);
    return undefined;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limitBytes) {
      // Over the limit, the answer is decided: cancelling only frees the connection, and one already gone has nothing to free.
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function isNamed(err: unknown, name: string): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === name;
}

/** The first error in the `cause` chain that `is` accepts. */
function findCause<T>(err: unknown, is: (cause: unknown) => cause is T): T | undefined {
  for (let cause = err, depth = 0; cause && depth < 5; depth++) {
    if (is(cause)) return cause;
    cause = typeof cause === 'object' ? (cause as { cause?: unknown }).cause : undefined;
  }
  return undefined;
}

function errorCode(err: unknown): string | undefined {
  for (let cause = err, depth = 0; cause && depth < 5; depth++) {
    if (typeof cause !== 'object') break;
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    // Happy-eyeballs connects fail with an AggregateError of one error per address.
    const errors = (cause as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) {
      cause = errors[0];
      continue;
    }
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

function innermostMessage(err: unknown): string {
  let message = 'unknown error';
  for (let cause = err, depth = 0; cause && depth < 5; depth++) {
    if (cause instanceof Error) message = cause.message;
    cause = typeof cause === 'object' ? (cause as { cause?: unknown }).cause : undefined;
  }
  return message;
}
