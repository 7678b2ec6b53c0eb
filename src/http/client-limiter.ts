/**
 * Per-client limits: a token bucket on every request, and a lock-out after repeated
 * bad secrets (which doubles each time, up to a cap). Clients are told when to come
 * back (429 with Retry-After). Kept in memory: each replica limits on its own, which
 * bounds abuse per replica and needs no shared state.
 */
import { TooManyRequestsError } from '../kernel/errors.js';

export interface LimiterOptions {
  /** Steady requests per second per client; 0 turns request limiting off. */
  requestsPerSecond: number;
  burst: number;
  /** Bad secrets within `failureWindowSeconds` that lock a client out; 0 turns lock-out off. */
  failuresBeforeLockout: number;
  failureWindowSeconds: number;
  lockoutSeconds: number;
  maxLockoutSeconds: number;
  now?: () => number;
}

interface ClientState {
  tokens: number;
  refilledAt: number;
  failures: number[];
  lockedUntil: number;
  lockouts: number;
  seenAt: number;
}

const MAX_CLIENTS = 100_000;

export class ClientLimiter {
  private readonly clients = new Map<string, ClientState>();
  private readonly now: () => number;

  constructor(private readonly opts: LimiterOptions) {
    this.now = opts.now ?? (() => Date.now() / 1000);
  }

  /** Takes one request from the client's bucket; throws 429 when it is empty or locked out. */
  admit(client: string): void {
    const s = this.state(client);
    this.refuseIfLocked(s);
    if (this.opts.requestsPerSecond <= 0) return;
    const now = this.now();
    s.tokens = Math.min(this.opts.burst, s.tokens + (now - s.refilledAt) * this.opts.requestsPerSecond);
    s.refilledAt = now;
    if (s.tokens < 1) {
      throw new TooManyRequestsError('too many requests from this client; slow down', Math.max(1, Math.ceil((1 - s.tokens) / this.opts.requestsPerSecond)));
    }
    s.tokens -= 1;
  }

  /** A bad secret or token: enough of them lock the client out for a while. */
  recordFailure(client: string): void {
    if (this.opts.failuresBeforeLockout <= 0) return;
    const s = this.state(client);
    const now = this.now();
    s.failures = s.failures.filter((t) => t > now - this.opts.failureWindowSeconds);
    s.failures.push(now);
    if (s.failures.length >= this.opts.failuresBeforeLockout) {
      s.lockedUntil = now + Math.min(this.opts.maxLockoutSeconds, this.opts.lockoutSeconds * 2 ** s.lockouts);
      s.lockouts++;
      s.failures = [];
    }
  }

  recordSuccess(client: string): void {
    const s = this.clients.get(client);
    if (s) {
      s.failures = [];
      s.lockouts = 0;
    }
  }

  private refuseIfLocked(s: ClientState): void {
    const wait = s.lockedUntil - this.now();
    if (wait > 0) throw new TooManyRequestsError('too many bad secrets from this client; try again later', Math.ceil(wait));
  }

  private state(client: string): ClientState {
    const now = this.now();
    let s = this.clients.get(client);
    if (!s) {
      if (this.clients.size >= MAX_CLIENTS) this.evictIdle(now);
      s = { tokens: this.opts.burst, refilledAt: now, failures: [], lockedUntil: 0, lockouts: 0, seenAt: now };
      this.clients.set(client, s);
    }
    s.seenAt = now;
    return s;
  }

  /** Forgets clients not seen for a while (a full bucket and no lock-out is the default anyway). */
  private evictIdle(now: number): void {
    for (const [k, s] of this.clients) if (s.seenAt < now - 600 && s.lockedUntil < now) this.clients.delete(k);
    if (this.clients.size >= MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value!);
  }
}
