/**
 * The reconcile loop: makes the cluster match the database, order by order.
 *
 * The database holds the desired state (spec, generation, service status, expiry);
 * the watch caches show the actual state. For each order it creates what is missing,
 * scales stopped orders to zero, tears down expired and aborted ones and frees their
 * ports, and deletes V-Kube namespaces whose order has ended.
 *
 * It never deletes a workload because something is unreachable: when the cluster's
 * watches or the database are down it does nothing and tries again later.
 */
import type { ClusterChange, ClusterGateway, KubeManifest } from '../cluster/gateway.js';
import type { Config } from '../config.js';
import type { DomainStore, NoticeStore, OrderRecord, Store } from '../store/types.js';
import { StaleState } from '../store/types.js';
import type { Clock } from './clock.js';
import type { CredentialBox } from './credential-box.js';
import type { DeploySpec } from './deploy-spec.js';
import { UnavailableError } from './errors.js';
import { KeyedMutex } from './keyed-mutex.js';
import {
  DATA_CLAIM,
  DEPLOYMENT_NAME,
  ORDER_LABEL,
  RESTART_ANNOTATION,
  SPEC_GENERATION_ANNOTATION,
  namespaceOf,
  workloadManifests,
} from './manifests.js';
import { persistsStorage } from './order-options.js';

export interface ReconcilerDeps {
  store: Store;
  domains: DomainStore;
  notices: NoticeStore;
  cluster: ClusterGateway;
  config: Pick<Config, 'units' | 'regionLabel' | 'reconcile' | 'ingress' | 'storageClass' | 'orderLockTimeoutMs'>;
  clock: Clock;
  credentials: CredentialBox;
  /** Labels every namespace of this installation, so orphans of another V-Kube sharing the cluster are never touched. */
  installation: string;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Told after every pass: how long it took and how many orders it could not bring in line. */
  onPass?: (ms: number, failures: number) => void;
}

export const INSTALLATION_LABEL = 'vkube.dev/installation';
export const NOTICE_EXPIRING = 'ServiceExpiringSoon';
export const NOTICE_EXPIRED = 'ServiceExpired';
export const NOTICE_ABORTED = 'ServiceAborted';
/** Orders read (and parsed) at once by a pass. */
const PASS_PAGE_SIZE = 250;
/** The longest a pass holds the event loop before it lets requests in. */
const PASS_SLICE_MS = 5;

export class Reconciler {
  private readonly mutex: KeyedMutex;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private lastPass: { at: number; ok: boolean; detail?: string } = { at: 0, ok: false };

  constructor(private readonly deps: ReconcilerDeps) {
    this.mutex = new KeyedMutex({ timeoutMs: deps.config.orderLockTimeoutMs, describe: (orderId) => `the reconcile of order ${orderId}` });
  }

  start(): void {
    this.stopped = false;
    this.unsubscribe = this.deps.cluster.onChange((change) => this.onClusterChange(change));
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
  }

  get status(): { lastPassAt: number; ok: boolean; detail?: string } {
    return { lastPassAt: this.lastPass.at, ok: this.lastPass.ok, ...(this.lastPass.detail ? { detail: this.lastPass.detail } : {}) };
  }

  /** One pass over every live order and every V-Kube namespace. */
  async reconcileAll(): Promise<void> {
    const started = Date.now();
    const { store, cluster, log } = this.deps;
    const health = cluster.health();
    if (!health.reachable || !health.synced) {
      this.lastPass = { at: Date.now(), ok: false, detail: health.detail ?? 'cluster caches not synced' };
      return;
    }
    const liveIds = new Set<string>();
    const failures: string[] = [];
    // Thousands of orders: read them a page at a time and let requests in whenever the
    // pass has held the event loop for a few milliseconds, however slow the machine.
    let yielded = performance.now();
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
        if (performance.now() - yielded >= PASS_SLICE_MS) {
          await new Promise((r) => setImmediate(r));
          yielded = performance.now();
        }
        if (this.inLine(order)) continue;
        try {
          await this.reconcile(order.id);
        } catch (err) {
          failures.push(`${order.id}: ${(err as Error).message}`);
        }
      }
      if (page.length < PASS_PAGE_SIZE) break;
      after = page[page.length - 1]!.id;
      await new Promise((r) => setImmediate(r));
      yielded = performance.now();
    }
    try {
      // An order created after its page was read is not in liveIds; removeOrphans asks the database before it deletes anything.
      await this.removeOrphans(liveIds);
    } catch (err) {
      failures.push(`orphans: ${(err as Error).message}`);
    }
    if (failures.length) log.warn({ failures: failures.slice(0, 10), count: failures.length }, 'reconcile pass left work for the next one');
    this.deps.onPass?.(Date.now() - started, failures.length);
    this.lastPass = { at: Date.now(), ok: failures.length === 0, ...(failures.length ? { detail: failures[0] } : {}) };
  }

  /**
   * Nothing to do for this order, judged from its listed record and the watch caches
   * alone (no database or API call): the common case of a pass over thousands of orders.
   * Anything else is reconciled from a fresh read of the record.
   */
  private inLine(order: OrderRecord): boolean {
    const { cluster, clock, config } = this.deps;
    if (order.serviceStatus === 'ServicePending') return true;
    if (order.serviceStatus !== 'ServiceRunning' && order.serviceStatus !== 'ServiceStop') return false;
    if (!order.spec) return true;
    if (order.endAt !== null && clock.now() >= order.endAt - config.reconcile.noticeAheadSeconds) return false;
    const ns = namespaceOf(order.id);
    const namespace = cluster.managedNamespace(ns);
    if (!namespace || namespace.metadata.deletionTimestamp) return false;
    const d = cluster.deployment(ns, DEPLOYMENT_NAME);
    if (
      !d ||
      d.metadata.annotations?.[SPEC_GENERATION_ANNOTATION] !== String(order.specGeneration) ||
      d.spec?.template?.metadata?.annotations?.[RESTART_ANNOTATION] !== String(order.restartGeneration) ||
      d.spec?.replicas !== (order.serviceStatus === 'ServiceRunning' ? 1 : 0)
    ) {
      return false;
    }
    return !cluster.podsInNamespace(ns).some((p) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded');
  }

  /** Makes one order's workload match its record now. Throws UnavailableError when that cannot be done yet. */
  reconcile(orderId: string): Promise<void> {
    return this.mutex.run(orderId, () => this.reconcileNow(orderId));
  }

  private async reconcileNow(orderId: string): Promise<void> {
    const { store, clock, config } = this.deps;
    let order = await store.findOrder(orderId);
    if (!order) return;

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
    switch (order.serviceStatus) {
      case 'ServiceDone':
      case 'ServiceAbort':
        return this.teardown(order);
      case 'ServiceRunning':
      case 'ServiceStop':
        return this.ensureWorkload(order);
      case 'ServicePending':
        return;
    }
  }

  private async ensureWorkload(order: OrderRecord): Promise<void> {
    const { cluster, config } = this.deps;
    if (!order.spec) return;
    this.requireCluster();
    const ns = namespaceOf(order.id);
    const namespace = cluster.managedNamespace(ns);
    if (namespace?.metadata.deletionTimestamp) {
      // Someone deleted it: it can only be re-created once Kubernetes has finished removing it.
      throw new UnavailableError(`namespace ${ns} is being deleted; it will be re-created when it is gone`);
    }
    await this.removeFinishedPods(ns);
    const replicas = order.serviceStatus === 'ServiceRunning' ? 1 : 0;
    const current = cluster.deployment(ns, DEPLOYMENT_NAME);
    if (
      namespace &&
      current &&
      current.metadata.annotations?.[SPEC_GENERATION_ANNOTATION] === String(order.specGeneration) &&
      current.spec?.template?.metadata?.annotations?.[RESTART_ANNOTATION] === String(order.restartGeneration) &&
      current.spec?.replicas === replicas
    ) {
      return;
    }
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
    await this.applyInOrder(ns, objects, namespace !== undefined ? order.specGeneration : undefined);
  }

  /**
   * Applies a workload with as few round trips in a row as its order allows: the
   * namespace first; then everything the pod relies on (quota, limits, network policy,
   * secrets, config) side by side; then the Deployment beside its Service and
   * Ingresses; last, the pruning of what the spec no longer has (nothing to prune in a
   * namespace just made, so `pruneGeneration` is undefined then).
   */
  private async applyInOrder(ns: string, objects: KubeManifest[], pruneGeneration: number | undefined): Promise<void> {
    const { cluster } = this.deps;
    const namespace = objects.filter((o) => o.kind === 'Namespace');
    const last = new Set(['Deployment', 'Service', 'Ingress']);
    const before = objects.filter((o) => o.kind !== 'Namespace' && !last.has(o.kind));
    const after = objects.filter((o) => last.has(o.kind));
    await cluster.apply(namespace);
    await Promise.all(before.map((o) => cluster.apply([o])));
    await Promise.all(after.map((o) => cluster.apply([o])));
    if (pruneGeneration !== undefined) await cluster.prune(ns, pruneGeneration);
  }

  /** Tells the customer ahead of the end, and at it (`GET /k8s/notice`); each notice once. */
  private async raiseNotices(order: OrderRecord): Promise<void> {
    const { clock, config, notices } = this.deps;
    const base = { orderId: order.id, serviceID: order.serviceID, address: order.address };
    const live = order.serviceStatus === 'ServiceRunning' || order.serviceStatus === 'ServiceStop';
    if (live && order.endAt !== null && clock.now() >= order.endAt - config.reconcile.noticeAheadSeconds) {
      await notices.addNotice({ ...base, noticeType: NOTICE_EXPIRING, timestamp: clock.now() });
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
        await this.deps.cluster.deletePod(ns, pod.metadata.name);
        this.deps.log.info({ namespace: ns, pod: pod.metadata.name, phase, reason: pod.status?.reason }, 'removed a finished pod');
      }
    }
  }

  private async teardown(order: OrderRecord): Promise<void> {
    const ns = namespaceOf(order.id);
    const namespace = this.deps.cluster.managedNamespace(ns);
    if (namespace && !namespace.metadata.deletionTimestamp) {
      this.requireCluster();
      await this.deps.cluster.deleteNamespace(ns);
      this.deps.log.info({ order: order.id, status: order.serviceStatus }, 'workload torn down');
    }
    await this.deps.store.releaseLeases(order.id);
    await this.deps.domains.releaseDomains(order.id);
  }

  /** Namespaces of this installation whose order is no longer live. */
  private async removeOrphans(liveIds: Set<string>): Promise<void> {
    for (const ns of this.deps.cluster.managedNamespaces()) {
      const orderId = ns.metadata.labels?.[ORDER_LABEL];
      if (!orderId || liveIds.has(orderId) || ns.metadata.deletionTimestamp) continue;
      if (ns.metadata.labels?.[INSTALLATION_LABEL] !== this.deps.installation) continue;
      // Only a definite answer from the database ends a workload.
      const order = await this.deps.store.findOrder(orderId);
      if (order && (order.serviceStatus === 'ServiceRunning' || order.serviceStatus === 'ServiceStop' || order.serviceStatus === 'ServicePending')) continue;
      // Tears down an ended order's workload; a failure is logged and the next pass tries again.
      await this.reconcile(orderId).catch((err: unknown) => this.deps.log.warn({ order: orderId, err: (err as Error).message }, 'could not tear down an ended order; the next pass tries again'));
      if (!order) {
        this.requireCluster();
        await this.deps.cluster.deleteNamespace(ns.metadata.name);
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
      this.reconcile(orderId).catch((err: unknown) =>
        this.deps.log.warn({ order: orderId, err: (err as Error).message }, 'could not put back a workload deleted by hand; the next pass tries again'),
      );
    }
  }

  private requireCluster(): void {
    const health = this.deps.cluster.health();
    if (!health.reachable) throw new UnavailableError(`the cluster cannot be reached now (${health.detail ?? 'watch down'})`);
  }

  private openSpec(spec: DeploySpec): DeploySpec {
    return { ...spec, registryLogins: spec.registryLogins.map((l) => ({ username: l.username, password: this.deps.credentials.open(l.password) })) };
  }
}
