/**
 * Remembers answers to image checks for a while, so a customer retrying a deploy or
 * a console polling `GET /k8s/images` does not turn into a registry request each
 * time (Docker Hub rate-limits anonymous pulls, HEAD requests included for some).
 *
 * Only answers the registry gave about the image are kept: `exists` and `missing`,
 * each with its own lifetime. `unreachable`, `denied` and `blocked` describe the
 * moment, the credentials or the address policy, so the next check must ask again.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { LruMap } from '../kernel/lru-map.js';
import type { ImageCheck, RegistryCredentials } from './types.js';

export interface CheckCacheOptions {
  /** How long an `exists` answer is reused (default 10 minutes; 0 disables). */
  positiveTtlMs?: number;
  /** How long a `missing` answer is reused (default 1 minute; 0 disables). */
  negativeTtlMs?: number;
  /** Most answers kept; the least recently used go first (default 5,000). */
  maxEntries?: number;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
}

export const DEFAULT_POSITIVE_TTL_MS = 10 * 60_000;
export const DEFAULT_NEGATIVE_TTL_MS = 60_000;
export const DEFAULT_MAX_ENTRIES = 5_000;

/**
 * Random per process: fingerprints cannot be compared across restarts or machines,
 * and a leaked cache key cannot be brute-forced offline without this key.
 */
const FINGERPRINT_KEY = randomBytes(32);

/**
 * Stands for a set of credentials in cache keys, so that two customers' answers never
 * mix and the credentials themselves are never kept in clear.
 */
export function credentialsFingerprint(credentials: RegistryCredentials | undefined): string {
  if (!credentials) return 'anonymous';
  // Length-prefixing keeps ("a:b", "c") and ("a", "b:c") apart.
  const material = `${credentials.username.length}:${credentials.username}:${credentials.password}`;
  return createHmac('sha256', FINGERPRINT_KEY).update(material).digest('hex');
}

interface CachedAnswer {
  check: ImageCheck;
  expiresAt: number;
}

export class CheckCache {
  private readonly answers: LruMap<string, CachedAnswer>;
  private readonly inFlight = new Map<string, Promise<ImageCheck>>();
  private readonly positiveTtlMs: number;
  private readonly negativeTtlMs: number;
  private readonly now: () => number;

  constructor(options: CheckCacheOptions = {}) {
    this.positiveTtlMs = options.positiveTtlMs ?? DEFAULT_POSITIVE_TTL_MS;
    this.negativeTtlMs = options.negativeTtlMs ?? DEFAULT_NEGATIVE_TTL_MS;
    this.answers = new LruMap(options.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.now = options.now ?? Date.now;
  }

  /**
   * The key of a check: the canonical reference, the endpoints it is asked at (a
   * registry's own API or its mirrors, in order) and a fingerprint of the credentials.
   */
  static key(canonical: string, askedAt: readonly string[], credentials: RegistryCredentials | undefined): string {
    return `${canonical}\n${askedAt.join(' ')}\n${credentialsFingerprint(credentials)}`;
  }

  get size(): number {
    return this.answers.size;
  }

  get(key: string): ImageCheck | undefined {
    const cached = this.answers.get(key);
    if (!cached) return undefined;
    if (cached.expiresAt <= this.now()) {
      this.answers.delete(key);
      return undefined;
    }
    return cached.check;
  }

  set(key: string, check: ImageCheck): void {
    const ttl = this.ttlFor(check);
    if (ttl <= 0) return;
    this.answers.set(key, { check, expiresAt: this.now() + ttl });
  }

  /**
   * The cached answer, or the one `load` gives. Callers asking for the same key while
   * a load runs wait for that load instead of starting their own.
   */
  async getOrLoad(key: string, load: () => Promise<ImageCheck>): Promise<ImageCheck> {
    const cached = this.get(key);
    if (cached) return cached;
    const running = this.inFlight.get(key);
    if (running) return running;
    // Deferred with then() so that even a load that throws synchronously settles
    // after it has been registered, and its finally() always unregisters it.
    const loading = Promise.resolve()
      .then(load)
      .then((check) => {
        this.set(key, check);
        return check;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, loading);
    return loading;
  }

  clear(): void {
    this.answers.clear();
  }

  private ttlFor(check: ImageCheck): number {
    switch (check.status) {
      case 'exists':
        return this.positiveTtlMs;
      case 'missing':
        return this.negativeTtlMs;
      case 'denied':
      case 'unreachable':
      case 'blocked':
        return 0;
    }
  }
}
