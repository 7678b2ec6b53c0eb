/**
 * The store port: what the domain needs from the database, in the domain's records
 * (records.ts). `store/sql-store.ts` implements it on SQLite and PostgreSQL through
 * Kysely. Times are unix seconds.
 */
import type { NewOutboxEvent } from './notify/store-port.js';
import type { ServiceStatus, OrderRecord, NewOrder, PortLease, Page, DomainClaim, Notice, PodEvent, ContainerRestarts, AccessToken, AuditEntry, QueuedWork, DeployHistoryEntry, UsageRow } from './records.js';

/** Host ports another order already holds; nothing was written. */
export class PortsTaken extends Error {
  constructor(readonly leases: PortLease[]) {
    super(`host ports taken: ${leases.map((l) => `${l.port}/${l.protocol}`).join(', ')}`);
    this.name = 'PortsTaken';
  }
}

/** The order's desired state changed since the caller read it (another request, maybe on another replica); nothing was written. */
export class ConcurrentChange extends Error {
  constructor(
    readonly orderId: string,
    readonly expected: number,
  ) {
    super(`order ${orderId} changed since generation ${expected}`);
    this.name = 'ConcurrentChange';
  }
}

/** A guarded change found the order in another state than it expected; nothing was written. */
export class StaleState extends Error {
  constructor(
    readonly orderId: string,
    readonly actual: ServiceStatus | undefined,
  ) {
    super(`order ${orderId} is ${actual ?? 'gone'}`);
    this.name = 'StaleState';
  }
}

export interface DeployRecord {
  spec: unknown;
  region: string;
  leases: Array<Omit<PortLease, 'orderId' | 'region'>>;
  /** Only orders in one of these states may take the deploy. */
  allowedFrom: ServiceStatus[];
  /** The service status after the deploy (e.g. ServiceRunning on the first one), with its timestamps. */
  status: ServiceStatus;
  fields: Partial<OrderRecord>;
  now: number;
  /**
   * The generation the new spec was derived from: the deploy is refused with
   * ConcurrentChange when the order has moved on since (no lost update across replicas).
   */
  expectedGeneration?: number;
}

export interface OrderStore {
  insertOrder(order: NewOrder): Promise<OrderRecord>;
  findOrder(id: string): Promise<OrderRecord | undefined>;
  findOrderBySecretHash(hash: string): Promise<OrderRecord | undefined>;
  listOrders(opts: { limit: number; offset: number; status?: ServiceStatus }): Promise<Page<OrderRecord>>;
  /**
   * Orders the reconciler must look at — every order not yet done or aborted, and ended
   * ones whose teardown is not finished — one page at a time in id order: the `limit`
   * first with an id after `after` (from the start when undefined). Paged so that a pass
   * over many orders never parses them all at once.
   */
  listLiveOrders(page: { after?: string; limit: number }): Promise<OrderRecord[]>;
  setSecretHash(id: string, hash: string, now: number): Promise<void>;
  /**
   * Records a deploy: the desired spec, and the order's host-port leases replaced by
   * `leases`, in one transaction that also bumps the generation and queues the order
   * for the leader. Throws PortsTaken (naming the ports another order holds),
   * StaleState or ConcurrentChange; on any of them nothing is written.
   */
  recordDeploy(id: string, deploy: DeployRecord): Promise<OrderRecord>;
  /**
   * Moves the service status from one of `from` to `to`, setting the given fields, in
   * one guarded UPDATE that bumps the generation and queues the order (an end —
   * ServiceDone, ServiceAbort — starts its teardown). Throws StaleState when the order
   * was in none of `from`.
   */
  transition(id: string, from: ServiceStatus[], to: ServiceStatus, fields: Partial<OrderRecord>, now: number): Promise<OrderRecord>;
  /** Adds hours to the order (and to its expiry when it has started). */
  renew(id: string, hours: number, now: number): Promise<OrderRecord>;
  /** A new pod with the same spec: bumps the restart generation (and the generation) and queues the order. */
  bumpRestart(id: string, now: number): Promise<OrderRecord>;
  /** Sets the customer's description and/or label and bumps the spec generation so they reach the Deployment (and queues the order). */
  setMetadata(id: string, fields: { description?: string; customLabel?: string }, now: number): Promise<OrderRecord>;
  setMagic(id: string, magic: string): Promise<void>;
  releaseLeases(id: string): Promise<void>;
  /** Records that the leader applied `generation` in full at `at` (unix ms); never moves it back. */
  markObserved(id: string, generation: number, at: number): Promise<void>;
  /**
   * Terminating → Done, once the order's namespace is gone: in one transaction with the
   * release of its host-port leases and domains. False when it was not Terminating.
   */
  finishTeardown(id: string, now: number): Promise<boolean>;
  /** Leases in the region; only those of `ports` when given (a primary-key lookup). */
  leasesInRegion(region: string, ports?: number[]): Promise<PortLease[]>;
  leasesOfOrder(id: string): Promise<PortLease[]>;
  countLeases(): Promise<number>;
}

/** Domains another order already holds; nothing was written. */
export class DomainsTaken extends Error {
  constructor(readonly domains: string[]) {
    super(`domains taken: ${domains.join(', ')}`);
    this.name = 'DomainsTaken';
  }
}

export interface DomainStore {
  domainsOf(orderId: string): Promise<DomainClaim[]>;
  /** Claims domains for the order (replacing its own claims on the same names). Throws DomainsTaken. */
  claimDomains(orderId: string, claims: Array<Omit<DomainClaim, 'orderId'>>, now: number): Promise<void>;
  /** Releases the order's claims on `domains`, or all of them when undefined. */
  releaseDomains(orderId: string, domains?: string[]): Promise<void>;
}

export interface NoticeStore {
  /**
   * Records a notice once per (order, type); a second call is a no-op. Returns whether it
   * was new. `event`, when given, goes to the outbox in the same transaction, only if new.
   */
  addNotice(notice: Notice, event?: NewOutboxEvent): Promise<boolean>;
  listNotices(filter: { address: string; serviceID?: string; limit: number; offset: number }): Promise<Page<Notice>>;
}

/** Pod events and restart counts written together (EventStore.recordBatch). */
export interface EventBatch {
  events: PodEvent[];
  restarts: ContainerRestarts[];
}

export interface EventStore {
  /**
   * Writes every record of the batch in one transaction, or none. An event already stored
   * takes the new count, message and last time; a container's restart count only rises.
   * Records of orders the database does not hold (a namespace of another installation)
   * are left out. At most one record per event and per container in a batch.
   */
  recordBatch(batch: EventBatch): Promise<void>;
  recentEvents(orderId: string, limit: number): Promise<PodEvent[]>;
  restarts(orderId: string): Promise<ContainerRestarts[]>;
  /** Drops all but the newest `keep` events of the order. */
  trimEvents(orderId: string, keep: number): Promise<void>;
}

export interface TokenStore {
  insertToken(token: AccessToken): Promise<void>;
  findTokenByHash(hash: string): Promise<AccessToken | undefined>;
  tokensOf(orderId: string): Promise<AccessToken[]>;
  /** Changes only a token of this order; false when there is none with that id. */
  deactivateToken(orderId: string, id: string): Promise<boolean>;
  deleteToken(orderId: string, id: string): Promise<boolean>;
  touchToken(id: string, at: number): Promise<void>;
}

export interface AuditStore {
  appendAudit(entry: AuditEntry): Promise<void>;
  listAudit(filter: { orderId?: string; limit: number; offset: number }): Promise<Page<AuditEntry>>;
  /** Deletes the entries older than `before` (unix seconds); returns how many. Idempotent. */
  pruneAudit(before: number): Promise<number>;
}

export interface SettingsStore {
  getSetting(key: string): Promise<string | undefined>;
  /** Sets the value unless one is there; returns the value that is stored. */
  setSettingOnce(key: string, value: string): Promise<string>;
}

/**
 * The durable per-order work queue: whatever changes an order's desired state queues it
 * in the same transaction (see OrderStore); the reconcile leader takes what is due.
 */
export interface WorkQueueStore {
  /** A new request: queues the order now (or makes its entry due now, its attempts and error reset). */
  enqueue(orderId: string, at: number): Promise<void>;
  /**
   * A re-check (a pass, a watch event): queues the order at `at` unless it is queued
   * already; an entry not tried yet comes forward to `at` if that is sooner, a back-off
   * runs as it is.
   */
  ensureQueued(orderId: string, at: number): Promise<void>;
  /** Entries due at `at`, earliest first. */
  dueWork(at: number, limit: number): Promise<QueuedWork[]>;
  /** Removes the entry if it still has this stamp (no newer request came meanwhile). */
  completeWork(orderId: string, stamp: number): Promise<void>;
  /** Moves the entry to `dueAt`; a failure (`error`) counts an attempt. Only if it still has this stamp. */
  deferWork(orderId: string, stamp: number, dueAt: number, error: string | undefined): Promise<void>;
  queuedWork(orderId: string): Promise<QueuedWork | undefined>;
  queueDepth(): Promise<number>;
}

export interface Store extends OrderStore, SettingsStore, WorkQueueStore {
  /** Cheap round trip, for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DeployHistoryStore {
  /** The newest `limit` entries of the order, newest first. */
  deployHistory(orderId: string, limit: number): Promise<DeployHistoryEntry[]>;
  deployOfGeneration(orderId: string, generation: number): Promise<DeployHistoryEntry | undefined>;
}

export interface UsageStore {
  /** Records samples (one per order); a second sample of an order in the same second replaces the first. */
  recordUsage(rows: UsageRow[]): Promise<void>;
  /** The order's samples taken at or after `since` (unix seconds), oldest first. */
  usageSince(orderId: string, since: number): Promise<UsageRow[]>;
  /** Deletes every sample taken before `before`; returns how many. */
  pruneUsage(before: number): Promise<number>;
}
