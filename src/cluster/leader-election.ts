/**
 * One reconciler at a time across replicas, through a coordination.k8s.io Lease — the
 * same protocol as client-go's leader election. A replica leads while it renews the
 * Lease; others take over once it has gone unrenewed for the lease duration. Expiry is
 * judged by when *this* process last saw the record change, so clock skew between
 * replicas does not matter. A leader that cannot renew in time steps down before
 * another could take over, so two never lead at once.
 *
 * Fencing: `writeWindowMs()` says how long the leader may still write. It counts from
 * the moment the last successful renewal was *sent* (the API server wrote it later,
 * and another replica can only have seen it later still, so its lease duration runs
 * out after ours) and ends at the renew deadline, short of the lease duration. Every
 * write checks it first and is bounded by it, so a leader cut off from the API server
 * has stopped writing before another can take over.
 */
import { KubeError, type KubeHttp } from './kube-http.js';

interface LeaseJson {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

export interface LeaderElectionOptions {
  http: KubeHttp;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  /** A leader that has not renewed for this long steps down (must be below the duration). */
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => Promise<void> | void;
  log?: (msg: string, err?: unknown) => void;
  now?: () => number;
}

export class LeaderElector {
  private leading = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private observed: { record: string; at: number } | undefined;
  /** When the last successful acquire or renewal was sent. */
  private lastRenew = 0;
  /** When the Lease write in flight was sent: the Lease read before it does not count, only the write does. */
  private writeSent = 0;
  private renewalWaiters: Array<() => void> = [];
  private readonly duration: number;
  private readonly renewDeadline: number;
  private readonly retry: number;
  private readonly now: () => number;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.duration = (opts.leaseDurationSeconds ?? 15) * 1000;
    this.renewDeadline = (opts.renewDeadlineSeconds ?? 10) * 1000;
    this.retry = (opts.retryPeriodSeconds ?? 2) * 1000;
    this.now = opts.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Milliseconds this replica may still write to the cluster: 0 unless it leads with a hold that cannot have lapsed. */
  writeWindowMs(): number {
    if (!this.leading) return 0;
    return Math.max(0, this.lastRenew + this.renewDeadline - this.now());
  }

  /**
   * Resolves at the next successful renewal (true), or after `timeoutMs` (false): a
   * writer whose window is too short for its next write waits for a fresh one instead
   * of starting a write that could outlive its hold.
   */
  nextRenewal(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.renewalWaiters = this.renewalWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.renewalWaiters.push(done);
    });
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops trying; a leader releases the Lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.leading) {
      await this.step(false);
      await this.release().catch((err: unknown) => this.opts.log?.('could not release the leader lease', err));
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const held = await this.tryAcquireOrRenew();
      if (held) {
        this.lastRenew = this.writeSent;
        for (const w of this.renewalWaiters.splice(0)) w();
      }
      await this.step(held);
    } catch (err) {
      this.opts.log?.('leader election: the Lease could not be read or written', err);
      // Unable to renew: keep leading only while the lease we hold cannot have expired for others.
      if (this.leading && this.now() - this.lastRenew > this.renewDeadline) await this.step(false);
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.retry);
  }

  private async step(leading: boolean): Promise<void> {
    if (leading === this.leading) return;
    this.leading = leading;
    if (leading) this.opts.onStartedLeading();
    else await this.opts.onStoppedLeading();
  }

  private path(withName = true): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${this.opts.namespace}/leases`;
    return withName ? `${base}/${this.opts.name}` : base;
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    let lease: LeaseJson;
    try {
      lease = await this.opts.http.get<LeaseJson>(this.path(), { timeoutMs: 5000, budget: 'lease' });
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 404)) throw err;
      await this.ensureNamespace();
      return this.write('POST', { metadata: { name: this.opts.name, namespace: this.opts.namespace }, spec: this.spec(now, 0) });
    }
    const record = `${lease.spec.holderIdentity ?? ''}|${lease.spec.renewTime ?? ''}`;
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const holder = lease.spec.holderIdentity ?? '';
    const expired = !holder || now > this.observed.at + (lease.spec.leaseDurationSeconds ?? this.duration / 1000) * 1000;
    if (holder !== this.opts.identity && !expired) return false;
    const transitions = (lease.spec.leaseTransitions ?? 0) + (holder === this.opts.identity ? 0 : 1);
    const spec = this.spec(now, transitions);
    if (holder === this.opts.identity && lease.spec.acquireTime) spec.acquireTime = lease.spec.acquireTime;
    // The resourceVersion makes the write fail (409) if another replica wrote first.
    return this.write('PUT', { metadata: { ...lease.metadata }, spec });
  }

  private spec(now: number, transitions: number): LeaseJson['spec'] {
    const time = microTime(now);
    return { holderIdentity: this.opts.identity, leaseDurationSeconds: this.duration / 1000, acquireTime: time, renewTime: time, leaseTransitions: transitions };
  }

  private async write(method: 'POST' | 'PUT', body: LeaseJson): Promise<boolean> {
    this.writeSent = this.now();
    try {
      if (method === 'POST') await this.opts.http.post(this.path(false), body, { timeoutMs: 5000, budget: 'lease' });
      else await this.opts.http.put(this.path(), body, { timeoutMs: 5000, budget: 'lease' });
      return true;
    } catch (err) {
      if (err instanceof KubeError && (err.status === 409 || err.status === 422)) return false;
      throw err;
    }
  }

  private async release(): Promise<void> {
    const lease = await this.opts.http.get<LeaseJson>(this.path(), { timeoutMs: 5000, budget: 'lease' });
    if (lease.spec.holderIdentity !== this.opts.identity) return;
    await this.opts.http.put(this.path(), { metadata: lease.metadata, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } }, { timeoutMs: 5000, budget: 'lease' });
  }

  /**
   * Best effort: the provider usually creates the namespace with V-Kube's identity, which
   * may not create namespaces outside vkube-* itself. Whatever went wrong here, the Lease
   * write right after fails and is reported with its reason.
   */
  private async ensureNamespace(): Promise<void> {
    await this.opts.http
      .apply(`/api/v1/namespaces/${this.opts.namespace}`, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.opts.namespace } }, 'vkube', { timeoutMs: 5000, budget: 'lease' })
      .catch(() => {});
  }
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
