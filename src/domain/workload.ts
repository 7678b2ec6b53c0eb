/**
 * A customer's view of its running workload: the live pod's status and logs, and the
 * stop / start / restart verbs. Reads come from the cluster's watch caches.
 */
import type { Readable } from 'node:stream';
import type { ClusterReader, LogOptions, PodJson } from '../cluster/gateway.js';
import type { OrderStore } from './store-port.js';
import type { OrderRecord } from './records.js';
import { StaleState } from './store-port.js';
import type { ApplyOutcome, ApplyWaiter } from './apply-waiter.js';
import type { Clock } from '../kernel/clock.js';
import { assertActive } from './deploy.js';
import { type ContainerHealthView, containerHealth, needsExplaining } from './container-health.js';
import { ConflictError, InputError, LogUnavailableError, NotFoundError, UnavailableError } from '../kernel/errors.js';
import { ORDER_LABEL, namespaceOf } from './manifests.js';
import { PodWaiter, type WaitOutcome, type WaitRequest } from './pod-wait.js';
import { claimMountedBy, describeStorage, type StorageStatusView } from './storage-status.js';
import { extended } from '../kernel/extended.js';

/** Which part of a container's log to read (the routes parse it from the query). */
export type { LogOptions };

export interface PodStatusView {
  name: string;
  podStatus: unknown;
  podSpec: unknown;
  annotations: Record<string, string>;
  /** The pod's volume claim and why it is not ready, when the pod mounts one. */
  storage?: StorageStatusView;
  /**
   * Each container's last termination, restarts, crash-loop back-off and readiness, once
   * there is something to explain (see needsExplaining); absent while every container
   * runs its first instance and is ready (and before any container is reported), so the
   * seed's answer keeps its four fields.
   */
  containers?: ContainerHealthView[];
}

/** A recorded change of the workload and how far the cluster has taken it. */
export interface WorkloadChange {
  order: OrderRecord;
  outcome: ApplyOutcome;
}

export class WorkloadService {
  /** Each pod's view, with the versions of the claim and events its storage part was made from. */
  private readonly statusViews = new WeakMap<PodJson, { view: PodStatusView; storageVersion: string }>();
  private readonly podWaiter: PodWaiter;

  constructor(
    private readonly cluster: ClusterReader,
    private readonly store: OrderStore,
    private readonly waiter: Pick<ApplyWaiter, 'waitFor'>,
    private readonly clock: Clock,
  ) {
    this.podWaiter = new PodWaiter(cluster);
  }

  /** The order's live pod: the newest one while a replacement briefly runs two. */
  currentPod(order: OrderRecord): PodJson {
    const where = { namespace: namespaceOf(order.id), region: (order.spec as { region?: string } | null)?.region ?? order.region };
    // Asked on every read: the cheap yes first; only a no builds the health records that say why.
    if (this.cluster.canRead?.(where) !== true) {
      const health = this.cluster.health();
      if (!health.synced || !health.reachable) throw new UnavailableError('the cluster cannot be read now; try again shortly');
      // Several clusters: the one this order is in must answer, whatever the others do.
      const own = this.cluster.healthOf?.(where);
      if (own && (!own.reachable || !own.synced)) throw new UnavailableError(`${own.detail ?? 'its cluster cannot be read now'}; try again shortly`);
    }
    const pods = this.cluster.podsInNamespace(namespaceOf(order.id)).filter((p) => p.metadata.labels?.[ORDER_LABEL] === order.id);
    if (pods.length === 0) {
      throw new NotFoundError(order.spec ? 'no pod is running for this order (it may be stopped or starting)' : 'nothing is deployed for this order yet');
    }
    return pods.reduce((a, b) => ((a.metadata.creationTimestamp ?? '') >= (b.metadata.creationTimestamp ?? '') ? a : b));
  }

  /**
   * The live pod's view; the same object for as long as the pod, its claim and the
   * claim's events are unchanged (the watch caches replace an object on every change), so
   * the HTTP layer serializes it once per change. Callers must not modify it.
   */
  status(order: OrderRecord): PodStatusView {
    return this.viewOf(order, this.currentPod(order));
  }

  /**
   * The status of the pod of the order's latest deploy once it is Running (or Ready), as
   * soon as it cannot get there by itself, or when the time is up; `wait` says which. Answered
   * from the pod watch, without polling (pod-wait.ts).
   */
  async statusWhen(order: OrderRecord, req: WaitRequest, signal: AbortSignal): Promise<PodStatusView & { wait: WaitOutcome }> {
    const { pod, outcome } = await this.podWaiter.wait(order, req, signal);
    return extended(this.viewOf(order, pod), { wait: outcome });
  }

  /** Requests waiting for a pod now. */
  get waitingRequests(): number {
    return this.podWaiter.size;
  }

  private viewOf(order: OrderRecord, pod: PodJson): PodStatusView {
    const claimName = claimMountedBy(pod);
    const ns = pod.metadata.namespace ?? namespaceOf(order.id);
    const claim = claimName ? this.cluster.persistentVolumeClaim(ns, claimName) : undefined;
    const events = claimName ? this.cluster.claimEvents(ns, claimName) : [];
    const kills = this.cluster.probeKills(ns, pod.metadata.name);
    // What the view is made of besides the pod: a change of any of it makes a new view.
    const storageVersion = [claim?.metadata.resourceVersion ?? '', ...[...events, ...kills].map((e) => e.metadata.resourceVersion ?? '').sort()].join(',');
    const cached = this.statusViews.get(pod);
    if (cached?.storageVersion === storageVersion) return cached.view;
    const view: PodStatusView = {
      name: pod.metadata.name,
      podStatus: pod.status ?? {},
      podSpec: pod.spec,
      annotations: pod.metadata.annotations ?? {},
      ...(claimName ? { storage: describeStorage(claimName, claim, events, pod) } : {}),
    };
    const health = containerHealth(pod, kills);
    if (needsExplaining(health)) view.containers = health;
    this.statusViews.set(pod, { view, storageVersion });
    return view;
  }

  async log(order: OrderRecord, opts: LogOptions): Promise<string> {
    const pod = this.currentPod(order);
    const o = this.withContainer(pod, opts);
    return this.explainMissingLog(pod, o, () => this.cluster.readLog(pod.metadata.namespace!, pod.metadata.name, o));
  }

  async followLog(order: OrderRecord, opts: LogOptions, signal: AbortSignal): Promise<Readable> {
    const pod = this.currentPod(order);
    const o = this.withContainer(pod, opts);
    return this.explainMissingLog(pod, o, () => this.cluster.followLog(pod.metadata.namespace!, pod.metadata.name, o, signal));
  }

  /**
   * Kubernetes decides whether a previous instance's log exists (the kubelet keeps only
   * the last ended instance, and may have removed it); when it says there is none, the
   * customer reads why in words of its own container, from what the pod status shows.
   */
  private async explainMissingLog<T>(pod: PodJson, opts: LogOptions, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      if (!(err instanceof LogUnavailableError) || !opts.previous) throw err;
      const name = opts.container!;
      const health = containerHealth(pod).find((c) => c.name === name);
      const why = health?.hasPreviousLog
        ? `its previous instance's log is no longer kept (restarted ${health.restartCount} time(s))`
        : 'it has not stopped or restarted since this pod started';
      throw new NotFoundError(`container "${name}" has no previous instance to read: ${why} (Kubernetes: ${err.detail})`, { cause: err });
    }
  }

  /** Scales to zero and records ServiceStop; the spec and host ports are kept. */
  async stop(order: OrderRecord): Promise<WorkloadChange> {
    assertActive(order, this.clock.now());
    if (order.serviceStatus === 'ServicePending') throw new ConflictError('nothing is deployed yet');
    return this.applied(await this.move(order, ['ServiceRunning', 'ServiceStop'], 'ServiceStop', { stoppedAt: this.clock.now() }));
  }

  /** Resumes a stopped service with the same spec and host ports. */
  async start(order: OrderRecord): Promise<WorkloadChange> {
    assertActive(order, this.clock.now());
    if (order.serviceStatus === 'ServicePending') throw new ConflictError('nothing is deployed yet');
    return this.applied(await this.move(order, ['ServiceStop', 'ServiceRunning'], 'ServiceRunning', order.serviceStatus === 'ServiceStop' ? { runningAt: this.clock.now() } : {}));
  }

  /** Replaces the pod with a new one (same spec, same host ports). */
  async restart(order: OrderRecord): Promise<WorkloadChange> {
    assertActive(order, this.clock.now());
    if (order.serviceStatus !== 'ServiceRunning') throw new ConflictError(`the service is ${order.serviceStatus}; only a running service can be restarted`);
    return this.applied(await this.store.bumpRestart(order.id, this.clock.now()));
  }

  private async move(order: OrderRecord, from: OrderRecord['serviceStatus'][], to: OrderRecord['serviceStatus'], fields: Partial<OrderRecord>): Promise<OrderRecord> {
    try {
      return await this.store.transition(order.id, from, to, fields, this.clock.now());
    } catch (err) {
      if (err instanceof StaleState) throw new ConflictError(`the service is ${err.actual ?? 'gone'}`);
      throw err;
    }
  }

  /** Waits (a bounded time) for the leader to apply the recorded change. */
  private async applied(order: OrderRecord): Promise<WorkloadChange> {
    return { order, outcome: await this.waiter.waitFor(order.id, order.generation) };
  }

  private withContainer(pod: PodJson, opts: LogOptions): LogOptions {
    const names = pod.spec.containers.map((c) => c.name);
    if (opts.container === undefined) return { ...opts, container: names[0] };
    if (!names.includes(opts.container)) throw new InputError(`no container "${opts.container}" in the pod; it has ${names.join(', ')}`, 'container');
    return opts;
  }
}

