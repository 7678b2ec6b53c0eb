/**
 * The reconcile loop: makes the cluster match the database, order by order.
 *
 * The database holds the desired state (spec, generation, service status, expiry);
 * the watch caches show the actual state. For each order it applies the stored
 * generation's whole set of objects and prunes what that generation no longer has,
 * scales stopped orders to zero, tears down expired and aborted ones (Terminating until
 * the namespace is gone, then Done with the ports freed in the same transaction), and
 * deletes V-Kube namespaces whose order has ended.
 *
 * Only the leader runs it, and it writes only through a FencedWriter. Its work comes from
 * the durable per-order work queue: requests queue an order when they change it, a pass
 * queues every order found out of line, and the queue retries failures with back-off.
 *
 * It never deletes a workload because something is unreachable: when the cluster's
 * watches or the database are down it does nothing and tries again later.
 */
import { type ClusterChange, type ClusterReader, type ClusterWriter, type KubeManifest, type NamespaceJson, isIsolationKind } from '../cluster/gateway.js';
import { AppliedObjects } from './applied-objects.js';
import type { Config } from '../config.js';
import type { DomainStore, NoticeStore, Store } from './store-port.js';
import type { OrderRecord } from './records.js';
import type { ApplyEvents } from './apply-waiter.js';
import { StaleState } from './store-port.js';
import type { Clock } from '../kernel/clock.js';
import type { CredentialBox } from './credential-box.js';
import type { DeploySpec } from './deploy-spec.js';
import { UnavailableError } from '../kernel/errors.js';
import { TimeSlice } from '../kernel/time-slice.js';
import { KeyedMutex } from './keyed-mutex.js';
import {
  DATA_CLAIM,
  DEPLOYMENT_NAME,
  ORDER_LABEL,
  RESTART_ANNOTATION,
  SPEC_GENERATION_ANNOTATION,
  isolationManifests,
  namespaceOf,
  workloadManifests,
} from './manifests.js';
import { persistsStorage } from './order-options.js';
import { type AttemptOutcome, WorkQueue, type WorkResult } from './work-queue.js';

export interface ReconcilerDeps {
  store: Store;
  domains: DomainStore;
  notices: NoticeStore;
  /** What the watch caches show (and a few live reads). */
  cluster: ClusterReader;
  /** The only way to write: fenced by the Lease (FencedWriter). */
  writer: ClusterWriter;
  config: Pick<Config, 'units' | 'regionLabel' | 'reconcile' | 'ingress' | 'storageClass' | 'orderLockTimeoutMs'>;
  clock: Clock;
  credentials: CredentialBox;
  /** Labels every namespace of this installation, so orphans of another V-Kube sharing the cluster are never touched. */
  installation: string;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Told after every pass: how long it took and how many orders it could not bring in line. */
  onPass?: (ms: number, failures: number) => void;
  /** Told after every attempt of the work queue (metrics). */
  onAttempt?: (outcome: AttemptOutcome, ms: number) => void;
  /** Tells requests waiting on this replica that an order was worked on. */
  events?: ApplyEvents;
}

export const INSTALLATION_LABEL = 'vkube.dev/installation';
export const NOTICE_EXPIRING = 'ServiceExpiringSoon';
export const NOTICE_EXPIRED = 'ServiceExpired';
export const NOTICE_ABORTED = 'ServiceAborted';
/** Orders read (and parsed) at once by a pass: some 2.5 ms of the event loop at 5,000 orders (2 cores), within a slice. */
const PASS_PAGE_SIZE = 100;
/** The longest a pass holds the event loop before it lets requests in. */
const PASS_SLICE_MS = 5;
/**
 * Orders a pass may queue only because their resync period is up, at least (see
 * resyncBudget). A population deployed within minutes comes due for its resync within
 * minutes too: one pass re-applying thousands of whole sets took over a minute of writes
 * (the benchmark at 5,000 pods saw 72 s); spread over passes, the herd stays spread.
 */
const MIN_RESYNCS_PER_PASS = 100;
/** How soon a teardown looks again at a namespace that is still going away (its DELETED event usually comes first). */
const TEARDOWN_RECHECK_MS = 2000;

export class Reconciler {
  private readonly mutex: KeyedMutex;
  /** What this replica applied and has not changed since: a deploy skips it (a resync does not). */
  private readonly applied = new AppliedObjects();
  /** The leader's durable work queue; only this reconciler takes from it. */
  readonly queue: WorkQueue;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private lastPass: { at: number; ok: boolean; detail?: string } = { at: 0, ok: false };
  /** Live orders the last pass saw: sizes the next pass's resync budget. */
  private liveOrders = 0;

  constructor(private readonly deps: ReconcilerDeps) {
    this.mutex = new KeyedMutex({ timeoutMs: deps.config.orderLockTimeoutMs, describe: (orderId) => `the reconcile of order ${orderId}` });
    this.queue = new WorkQueue({
      store: deps.store,
      work: (orderId) => this.reconcile(orderId),
      log: deps.log,
      pollMs: deps.config.reconcile.queuePollMs,
      onAttempt: (orderId, outcome, ms) => {
        deps.onAttempt?.(outcome, ms);
        deps.events?.notify(orderId);
      },
    });
  }

  /**
   * Leads: takes work from the queue, follows the cluster's changes, and (unless
   * `periodicPasses` is false, as in tests that drive passes themselves) runs a pass
   * over every order each interval.
   */
  start(opts: { periodicPasses?: boolean } = {}): void {
    this.stopped = false;
    this.unsubscribe = this.deps.cluster.onChange((change) => this.onClusterChange(change));
    this.queue.start();
    if (opts.periodicPasses === false) return;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.reconcileAll().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(tick, this.deps.config.reconcile.intervalMs);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.unsubscribe?.();
    await this.running;
    await this.queue.stop();
  }

  get status(): { lastPassAt: number; ok: boolean; detail?: string } {
    return { lastPassAt: this.lastPass.at, ok: this.lastPass.ok, ...(this.lastPass.detail ? { detail: this.lastPass.detail } : {}) };
  }

  /**
   * One pass over every live or terminating order and every V-Kube namespace: queues
   * each order that is out of line, then works the queue off.
   */
  async reconcileAll(): Promise<void> {
    const started = Date.now();
    const { store, cluster, log, config } = this.deps;
    const health = cluster.health();
    if (!health.reachable || !health.synced) {
      this.lastPass = { at: Date.now(), ok: false, detail: health.detail ?? 'cluster caches not synced' };
      return;
    }
    const liveIds = new Set<string>();
    const failures: string[] = [];
    const budget = this.resyncBudget();
    let resyncsLeft = budget;
    let resyncsDeferred = 0;
    // Resyncs are upkeep, not anyone's request: queued a budget's share of the interval
    // apart, so that a pass's worth runs as a trickle until the next pass instead of as
    // one burst that every request in flight meets (at 5,000 orders, a burst of 100 that
    // re-applied whole sets took over a second of the event loop's and the API server's time).
    const resyncSpacingMs = Number.isFinite(budget) ? config.reconcile.intervalMs / budget : 0;
    let resyncsQueued = 0;
    // Thousands of orders: read them a page at a time and let requests in whenever the
    // pass has held the event loop for a few milliseconds, however slow the machine.
    const slice = new TimeSlice(PASS_SLICE_MS);
    let after: string | undefined;
    for (;;) {
      let page: OrderRecord[];
      try {
        page = await store.listLiveOrders({ after, limit: PASS_PAGE_SIZE });
      } catch (err) {
        this.lastPass = { at: Date.now(), ok: false, detail: `database: ${(err as Error).message}` };
        return;
      }
      for (const order of page) {
        liveIds.add(order.id);
        if (slice.spent()) await slice.yield();
        if (this.inLine(order)) continue;
        let dueAt = Date.now();
        // Out of line only because its resync period is up: within this pass's budget, else the next pass's.
        if (this.inLine(order, { resyncDueToo: true })) {
          if (resyncsLeft <= 0) {
            resyncsDeferred++;
            continue;
          }
          resyncsLeft--;
          dueAt = started + Math.round(resyncsQueued++ * resyncSpacingMs);
        }
        try {
          await store.ensureQueued(order.id, dueAt);
        } catch (err) {
          failures.push(`${order.id}: ${(err as Error).message}`);
        }
      }
      if (page.length < PASS_PAGE_SIZE) break;
      after = page[page.length - 1]!.id;
      await slice.yield();
    }
    this.liveOrders = liveIds.size;
    if (resyncsDeferred > 0) log.info({ deferred: resyncsDeferred }, 'resyncs due beyond this pass’s budget: left for the next pass');
    await this.queue.drain();
    try {
      // An order created after its page was read is not in liveIds; removeOrphans asks the database before it deletes anything.
      await this.removeOrphans(liveIds);
    } catch (err) {
      failures.push(`orphans: ${(err as Error).message}`);
    }
    try {
      const stuck = (await store.dueWork(Date.now() + config.reconcile.intervalMs, 10)).filter((w) => w.attempts > 0);
      for (const w of stuck) failures.push(`${w.orderId}: ${w.lastError} (attempt ${w.attempts}, retried with back-off)`);
    } catch (err) {
      failures.push(`queue: ${(err as Error).message}`);
    }
    if (failures.length) log.warn({ failures: failures.slice(0, 10), count: failures.length }, 'reconcile pass left work for the next one');
    this.deps.onPass?.(Date.now() - started, failures.length);
    this.lastPass = { at: Date.now(), ok: failures.length === 0, ...(failures.length ? { detail: failures[0] } : {}) };
  }

  /**
   * Resyncs a pass may queue: twice the pace that re-applies every live order once per
   * resync period (so a backlog drains, and a herd spreads over passes), at least
   * MIN_RESYNCS_PER_PASS; no limit with a resync period of 0 (every pass re-applies all).
   */
  private resyncBudget(): number {
    const { intervalMs, resyncSeconds } = this.deps.config.reconcile;
    if (resyncSeconds <= 0) return Infinity;
    return Math.max(MIN_RESYNCS_PER_PASS, Math.ceil((2 * this.liveOrders * intervalMs) / (resyncSeconds * 1000)));
  }

  /** Its resync period is up: what no watch follows, or what the watches show changed, is re-applied. */
  private resyncDue(order: OrderRecord): boolean {
    return Date.now() - order.observedAt >= this.deps.config.reconcile.resyncSeconds * 1000;
  }

  /**
   * Nothing to do for this order, judged from its listed record and the watch caches
   * alone (no database or API call): the common case of a pass over thousands of orders.
   * Anything else is reconciled from a fresh read of the record. `resyncDueToo`: in line
   * but for a resync that is due (so the caller can tell that reason from the others).
   */
  private inLine(order: OrderRecord, opts: { resyncDueToo?: boolean } = {}): boolean {
    if (!opts.resyncDueToo && this.resyncDue(order) && this.resyncApplies(order)) return false;
    return this.inLineButResync(order);
  }

  /** The orders a resync looks at: a sold order's isolation, a deployed order's whole set. */
  private resyncApplies(order: OrderRecord): boolean {
    if (order.serviceStatus === 'ServicePending') return true;
    return (order.serviceStatus === 'ServiceRunning' || order.serviceStatus === 'ServiceStop') && order.spec !== null;
  }

  private inLineButResync(order: OrderRecord): boolean {
    const { clock, config } = this.deps;
    if (order.observedGeneration < order.generation) return false;
    if (order.serviceStatus === 'ServicePending') return this.isolationInLine(order);
    if (order.serviceStatus !== 'ServiceRunning' && order.serviceStatus !== 'ServiceStop') return false;
    if (!order.spec) return true;
    if (order.endAt !== null && clock.now() >= order.endAt - config.reconcile.noticeAheadSeconds) return false;
    return this.workloadInLine(order);
  }

  /**
   * A sold order not deployed yet holds its namespace (and the quota, limits and network
   * policy in it, looked at once per resync period), as far as the caches can tell;
   * whether the resync is due is resyncDue's to say.
   */
  private isolationInLine(order: OrderRecord): boolean {
    return this.namespaceInPlace(this.deps.cluster.managedNamespace(namespaceOf(order.id)));
  }

  /** The namespace exists as V-Kube applies it (not going away, its labels in place): no need to apply it again before its contents. */
  private namespaceInPlace(namespace: NamespaceJson | undefined): boolean {
    if (!namespace || namespace.metadata.deletionTimestamp) return false;
    return namespace.metadata.labels?.[INSTALLATION_LABEL] === this.deps.installation && namespace.metadata.labels?.[ORDER_LABEL] !== undefined;
  }

  /**
   * The cluster holds the order's applied set, as far as the watch caches can tell: its
   * namespace, its Deployment at the order's generations and replicas, its volume claim,
   * and no finished pod. The rest is looked at once per resync period (resyncDue says
   * when): what no watch follows (Secrets, Services) is re-applied then, and what the
   * watches show changed since the leader applied it (applyInOrder).
   */
  private workloadInLine(order: OrderRecord): boolean {
    const { cluster } = this.deps;
    const ns = namespaceOf(order.id);
    const namespace = cluster.managedNamespace(ns);
    if (!this.namespaceInPlace(namespace)) return false;
    const d = cluster.deployment(ns, DEPLOYMENT_NAME);
    if (
      !d ||
      d.metadata.annotations?.[SPEC_GENERATION_ANNOTATION] !== String(order.specGeneration) ||
      d.spec?.template?.metadata?.annotations?.[RESTART_ANNOTATION] !== String(order.restartGeneration) ||
      d.spec?.replicas !== (order.serviceStatus === 'ServiceRunning' ? 1 : 0)
    ) {
      return false;
    }
    if (wantsVolume(order)) {
      const claim = cluster.persistentVolumeClaim(ns, DATA_CLAIM);
      if (!claim || claim.metadata.deletionTimestamp) return false;
    }
    return !cluster.podsInNamespace(ns).some((p) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded');
  }

  /**
   * Makes one order's workload match its stored record now, and records the generation
   * it applied. Throws UnavailableError when that cannot be done yet (FencedOut when
   * this replica may not write). The work queue calls it; so can tests.
   */
  reconcile(orderId: string): Promise<WorkResult> {
    return this.mutex.run(orderId, () => this.reconcileNow(orderId));
  }

  private async reconcileNow(orderId: string): Promise<WorkResult> {
    const { store, clock, config } = this.deps;
    let order = await store.findOrder(orderId);
    if (!order) return {};

    if ((order.serviceStatus === 'ServiceRunning' || order.serviceStatus === 'ServiceStop') && order.endAt !== null && clock.now() >= order.endAt + config.reconcile.expiryGraceSeconds) {
      try {
        order = await store.transition(order.id, ['ServiceRunning', 'ServiceStop'], 'ServiceDone', { doneAt: clock.now() }, clock.now());
        this.deps.log.info({ order: order.id }, 'order expired: tearing its workload down');
      } catch (err) {
        if (!(err instanceof StaleState)) throw err;
        order = (await store.findOrder(orderId))!;
      }
    }

    await this.raiseNotices(order);
    let result: WorkResult = {};
    let applied = false;
    switch (order.serviceStatus) {
      case 'ServiceDone':
      case 'ServiceAbort':
        result = await this.teardown(order);
        break;
      case 'ServiceRunning':
      case 'ServiceStop':
        applied = await this.ensureWorkload(order);
        break;
      case 'ServicePending':
        applied = await this.ensureIsolation(order);
        break;
    }
    // Acted on in full: requests waiting on this generation may answer, and the resync period starts over.
    if (order.observedGeneration < order.generation || applied) await store.markObserved(order.id, order.generation, Date.now());
    return result;
  }

  /** Applies the order's whole set unless the caches show it in line; true when it applied. */
  private async ensureWorkload(order: OrderRecord): Promise<boolean> {
    const { cluster, config } = this.deps;
    if (!order.spec) return false;
    const ns = namespaceOf(order.id);
    this.requireCluster({ namespace: ns, region: (order.spec as DeploySpec).region });
    const namespace = cluster.managedNamespace(ns);
    if (namespace?.metadata.deletionTimestamp) {
      // Someone deleted it: it can only be re-created once Kubernetes has finished removing it.
      throw new UnavailableError(`namespace ${ns} is being deleted; it will be re-created when it is gone`);
    }
    await this.removeFinishedPods(ns);
    const replicas = order.serviceStatus === 'ServiceRunning' ? 1 : 0;
    // The whole set is built every time; what the watches show as the leader applied it is skipped (applyInOrder), anything deleted or changed by hand comes back.
    if (order.observedGeneration >= order.generation && !this.resyncDue(order) && this.workloadInLine(order)) return false;
    const spec = this.openSpec(order.spec as DeploySpec);
    const objects = workloadManifests({
      order,
      spec,
      units: config.units,
      regionLabel: config.regionLabel,
      replicas,
      persistStorage: persistsStorage(order),
      // A claim's class is fixed once it exists (Kubernetes refuses the change): one made
      // before the provider changed VKUBE_STORAGE_CLASS keeps its own.
      storageClass: cluster.persistentVolumeClaim(ns, DATA_CLAIM)?.spec?.storageClassName ?? config.storageClass,
      domains: await this.deps.domains.domainsOf(order.id),
      ingress: config.ingress,
    });
    for (const o of objects) o.metadata.labels = { ...o.metadata.labels, [INSTALLATION_LABEL]: this.deps.installation };
    // Prunable objects (Secrets, ConfigMaps, routing) come only from a deploy: the first
    // spec generation has nothing of an earlier one to prune, even in a namespace made at sale.
    const prune = namespace !== undefined && order.specGeneration > 1 ? order.specGeneration : undefined;
    await this.applyInOrder(ns, objects, prune, this.namespaceInPlace(namespace), this.resyncDue(order));
    return true;
  }

  /**
   * A sold order that is not deployed yet: its namespace and isolation objects (quota,
   * limits, deny-by-default network policy), so its first deploy adds only the workload.
   */
  private async ensureIsolation(order: OrderRecord): Promise<boolean> {
    const { cluster, config } = this.deps;
    const ns = namespaceOf(order.id);
    // Several clusters: the region picks the cluster. An order sold without one gets its
    // isolation with its first deploy, which names the region (in the same apply as ever).
    if (!order.region && (cluster.members?.().length ?? 1) > 1) return false;
    this.requireCluster({ namespace: ns, region: order.region });
    const namespace = cluster.managedNamespace(ns);
    if (namespace?.metadata.deletionTimestamp) throw new UnavailableError(`namespace ${ns} is being deleted; it will be re-created when it is gone`);
    if (order.observedGeneration >= order.generation && !this.resyncDue(order) && this.isolationInLine(order)) return false;
    const objects = isolationManifests(order, config.units, null);
    for (const o of objects) o.metadata.labels = { ...o.metadata.labels, [INSTALLATION_LABEL]: this.deps.installation };
    await this.applyInOrder(ns, objects, undefined, this.namespaceInPlace(namespace), this.resyncDue(order));
    return true;
  }

  /**
   * Applies a workload with as few round trips in a row as its order allows: the
   * namespace first, unless the cache shows it in place (made when the order was sold);
   * then everything the pod relies on (quota, limits, network policy, secrets, config)
   * side by side, so none of it can be missing when the pod is made; then the Deployment
   * beside its Service and Ingresses; last, the pruning of what the spec no longer has
   * (`pruneGeneration` undefined: nothing to prune). What the watches show exactly as
   * this leader applied it is skipped, a resync's too (AppliedObjects): a first deploy
   * after the sale is one round trip before its pod, and a resync of an order nobody
   * touched re-applies only the kinds no watch follows. The policy made at sale opens the
   * published ports by name, so a deploy rarely changes it; when it does (a spec publishing
   * more ports than the units allow as host ports, or the first deploy of a spec recorded
   * before ports were named) and the policy is in place, it is updated right after the
   * Deployment unless `full` (a resync).
   */
  private async applyInOrder(ns: string, objects: KubeManifest[], pruneGeneration: number | undefined, namespaceInPlace: boolean, full: boolean): Promise<void> {
    const { writer } = this.deps;
    const namespace = objects.filter((o) => o.kind === 'Namespace');
    const last = new Set(['Deployment', 'Service', 'Ingress']);
    if (!namespaceInPlace) {
      this.applied.forget(ns);
      await Promise.all(namespace.map((o) => this.applyOne(o)));
    }
    const stale = (o: KubeManifest) => !this.applied.current(o, this.deps.cluster.watchedVersion(o.kind, ns, o.metadata.name));
    let before = objects.filter((o) => o.kind !== 'Namespace' && !last.has(o.kind) && stale(o));
    const after = objects.filter((o) => last.has(o.kind) && stale(o));
    let afterwards: KubeManifest[] = [];
    if (namespaceInPlace && !full) {
      // A network policy of the order's in place already denies by default; a new version
      // only changes which ports are open, so it goes after the Deployment, not before it.
      const opening = before.filter((o) => o.kind === 'NetworkPolicy' && this.inPlace(ns, o));
      before = before.filter((o) => !opening.includes(o));
      afterwards = opening;
    }
    await Promise.all(before.map((o) => this.applyOne(o)));
    await Promise.all(after.map((o) => this.applyOne(o)));
    // After the Deployment, not beside it: kube-apiserver gives its whole attention to the
    // write the pod waits for, and the pod appears only some 30 ms later anyway.
    await Promise.all(afterwards.map((o) => this.applyOne(o)));
    if (pruneGeneration !== undefined) await writer.prune(ns, pruneGeneration);
  }

  /** An isolation object the watches show in the namespace (false for any other kind). */
  private inPlace(ns: string, o: KubeManifest): boolean {
    return isIsolationKind(o.kind) && this.deps.cluster.holdsIsolation(o.kind, ns, o.metadata.name);
  }

  /**
   * Applies one object and remembers the version the API server answered (forgotten when
   * the apply fails: what the cluster holds of it is then unknown).
   */
  private async applyOne(o: KubeManifest): Promise<void> {
    let version: string | undefined;
    try {
      [version] = await this.deps.writer.apply([o]);
    } catch (err) {
      this.applied.drop(o);
      throw err;
    }
    this.applied.record(o, version);
  }

  /** Tells the customer ahead of the end, and at it (`GET /k8s/notice`); each notice once. */
  private async raiseNotices(order: OrderRecord): Promise<void> {
    const { clock, config, notices } = this.deps;
    const base = { orderId: order.id, serviceID: order.serviceID, address: order.address };
    const live = order.serviceStatus === 'ServiceRunning' || order.serviceStatus === 'ServiceStop';
    if (live && order.endAt !== null && clock.now() >= order.endAt - config.reconcile.noticeAheadSeconds) {
      // Webhooks and e-mail hear of it once, with the notice (same transaction).
      await notices.addNotice({ ...base, noticeType: NOTICE_EXPIRING, timestamp: clock.now() }, { type: 'order.expiring', orderId: order.id, data: { endAt: order.endAt }, at: Date.now() });
    }
    if (order.serviceStatus === 'ServiceDone') await notices.addNotice({ ...base, noticeType: NOTICE_EXPIRED, timestamp: order.doneAt ?? clock.now() });
    if (order.serviceStatus === 'ServiceAbort') await notices.addNotice({ ...base, noticeType: NOTICE_ABORTED, timestamp: order.abortedAt ?? clock.now() });
  }

  /**
   * Evicted and failed pods stay in the API (and count against the quota) until deleted;
   * the ReplicaSet has already replaced them, so they only clutter status and quota.
   */
  private async removeFinishedPods(ns: string): Promise<void> {
    for (const pod of this.deps.cluster.podsInNamespace(ns)) {
      const phase = pod.status?.phase;
      if ((phase === 'Failed' || phase === 'Succeeded') && !pod.metadata.deletionTimestamp) {
        await this.deps.writer.deletePod(ns, pod.metadata.name);
        this.deps.log.info({ namespace: ns, pod: pod.metadata.name, phase, reason: pod.status?.reason }, 'removed a finished pod');
      }
    }
  }

  /**
   * An ended order: its namespace is deleted, and while Kubernetes removes it the order
   * stays Terminating (its host ports still leased: the pods may still hold them). Once
   * the API says the namespace is gone, Terminating → Done and the leases and domains
   * are released in one transaction. A crash anywhere in between leaves the order
   * Terminating, and the next pass finishes it.
   */
  private async teardown(order: OrderRecord): Promise<WorkResult> {
    const { cluster, writer, store, clock, log } = this.deps;
    const ns = namespaceOf(order.id);
    this.requireCluster({ namespace: ns, region: (order.spec as DeploySpec | null)?.region ?? order.region });
    const namespace = cluster.managedNamespace(ns);
    if (namespace && !namespace.metadata.deletionTimestamp) {
      await writer.deleteNamespace(ns);
      this.applied.forget(ns);
      log.info({ order: order.id, status: order.serviceStatus }, 'workload torn down: namespace deleted');
    }
    if (order.teardown !== 'Terminating') return {};
    // The cache may not have seen a namespace created a moment ago: only the API's own answer frees the ports.
    if (namespace || !(await cluster.namespaceGone(ns))) return { requeueAfterMs: TEARDOWN_RECHECK_MS };
    if (await store.finishTeardown(order.id, clock.now())) log.info({ order: order.id }, 'teardown done: namespace gone, host ports and domains released');
    return {};
  }

  /** Namespaces of this installation whose order is no longer live. */
  private async removeOrphans(liveIds: Set<string>): Promise<void> {
    // Every managed namespace: some 5 ms of the event loop at 5,000, in slices like the pass's.
    const slice = new TimeSlice(PASS_SLICE_MS);
    for (const ns of this.deps.cluster.managedNamespaces()) {
      if (slice.spent()) await slice.yield();
      const orderId = ns.metadata.labels?.[ORDER_LABEL];
      if (!orderId || liveIds.has(orderId) || ns.metadata.deletionTimestamp) continue;
      if (ns.metadata.labels?.[INSTALLATION_LABEL] !== this.deps.installation) continue;
      // Only a definite answer from the database ends a workload.
      const order = await this.deps.store.findOrder(orderId);
      if (order && (order.serviceStatus === 'ServiceRunning' || order.serviceStatus === 'ServiceStop' || order.serviceStatus === 'ServicePending')) continue;
      // Several clusters: a dark one's namespaces wait for it; the others' are looked at now.
      const own = this.deps.cluster.healthOf?.({ namespace: ns.metadata.name });
      if (own && !own.reachable) continue;
      if (order) await this.deps.store.ensureQueued(orderId, Date.now());
      else {
        this.requireCluster({ namespace: ns.metadata.name });
        await this.deps.writer.deleteNamespace(ns.metadata.name);
        this.applied.forget(ns.metadata.name);
        this.deps.log.warn({ namespace: ns.metadata.name }, 'deleted a V-Kube namespace that belongs to no order');
      }
    }
  }

  private onClusterChange(change: ClusterChange): void {
    if (this.stopped) return;
    // A workload object of a live order went away (deleted by hand): put it back.
    const orderId =
      change.kind === 'namespace' && change.type === 'DELETED'
        ? change.namespace.metadata.labels?.[ORDER_LABEL]
        : change.kind === 'deployment' && change.type === 'DELETED'
          ? change.deployment.metadata.labels?.[ORDER_LABEL]
          : undefined;
    if (orderId) {
      this.queue.recheck(orderId).catch((err: unknown) => this.deps.log.warn({ order: orderId, err: (err as Error).message }, 'could not queue an order whose objects went away; the next pass will'));
    }
  }

  /** Throws unless the cluster answers — with several, the one holding the namespace or region (the others may be dark). */
  private requireCluster(where: { namespace?: string; region?: string }): void {
    const health = this.deps.cluster.health();
    if (!health.reachable) throw new UnavailableError(`the cluster cannot be reached now (${health.detail ?? 'watch down'})`);
    const own = this.deps.cluster.healthOf?.(where);
    if (own && !own.reachable) throw new UnavailableError(own.detail ?? 'its cluster cannot be reached now');
  }

  private openSpec(spec: DeploySpec): DeploySpec {
    return { ...spec, registryLogins: spec.registryLogins.map((l) => ({ username: l.username, password: this.deps.credentials.open(l.password) })) };
  }
}

/** Whether the order's set has a volume claim (persistStorage and a container that mounts it). */
function wantsVolume(order: OrderRecord): boolean {
  return persistsStorage(order) && ((order.spec as DeploySpec | null)?.containers.some((c) => c.mountPath) ?? false);
}
