/**
 * ClusterGateway on a real Kubernetes API: watch caches for nodes, pods, V-Kube's
 * namespaces, deployments, volume claims and events; server-side apply for writes (a
 * Deployment the watch does not show is created, then applied). Kubernetes errors
 * become domain errors here, naming the cluster: unreachable or 5xx → UnavailableError,
 * 404 → NotFoundError, 409 → ConflictError.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ConflictError, LogUnavailableError, NotFoundError, UnavailableError } from '../kernel/errors.js';
import { parseBytes, parseMillicores } from '../kernel/quantity.js';
import { StringPool } from '../kernel/string-pool.js';
import { ValuePool } from '../kernel/value-pool.js';
import type {
  ClusterChange,
  ClusterGateway,
  ClusterHealth,
  DeploymentJson,
  ObjectMeta,
  EventJson,
  ExecOptions,
  HostPortUse,
  IsolationKind,
  KubeManifest,
  LogOptions,
  NamespaceJson,
  SourceHealth,
  PersistentVolumeClaimJson,
  PodJson,
  KubeletSummaryJson,
  PodMetricsJson,
  PodStream,
  RegionCapacity,
  WriteOptions,
} from './gateway.js';
import { SPEC_GENERATION_LABEL, isIsolationKind } from './gateway.js';
import { ApiHeartbeat } from './api-heartbeat.js';
import { summarizeHealth } from './cluster-health.js';
import { KubeError, type KubeHttp, type Query } from './kube-http.js';
import { openKubeWebSocket } from './kube-websocket.js';
import { EXEC_PROTOCOL, EXEC_PROTOCOL_V4, PORT_FORWARD_PROTOCOL } from '../kernel/stream-channels.js';
import { type ManagedFieldsEntry, ownershipUpgradePatch, ownsByUpdate } from './field-ownership.js';
import { collectionPath, objectPath } from './resource-paths.js';
import { type KubeObject, WatchCache } from './watch-cache.js';

export const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=vkube';
/** Strings per generation of the caches' pool (see StringPool): the pool held 0.55 MiB at 5,000 pods. */
const STRINGS_PER_GENERATION = 10_000;
/**
 * Small pieces per generation (see ValuePool): a pod brings some fifteen pieces of its own (its
 * addresses, its times) besides the shared ones, so a generation turns every few hundred pod
 * events, and pieces every pod has are found again each time. Each entry costs its key.
 */
const PIECES_PER_GENERATION = 4_000;
const FIELD_MANAGER = 'vkube';
/** Reads and guarded patches in a row before a take-over of created fields gives up (the apply then fails and is retried). */
const TAKE_OVER_ATTEMPTS = 3;
const PRUNED_KINDS = ['Secret', 'ConfigMap', 'Service', 'Ingress'] as const;
const NAMESPACE_PREFIX = 'vkube-';
const OWN_ANNOTATION_PREFIX = 'vkube.dev/';

interface NodeJson {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  status?: { conditions?: Array<{ type: string; status: string }>; allocatable?: Record<string, string>; addresses?: Array<{ type: string; address: string }> };
}

export interface KubernetesGatewayOptions {
  http: KubeHttp;
  /** The cluster's name (default: the kubeconfig's cluster name). */
  name?: string;
  regionLabel: string;
  /** How often to ask the API server whether it is there (default 3 s; each probe may take 4 s). 0: never. */
  heartbeatMs?: number;
  /** A watch silent this long, without even a bookmark, is stalled and re-opened (default 90 s). */
  watchStallMs?: number;
  log?: (msg: string, err?: unknown) => void;
}

/**
 * Events feed only the activity log and the notes on why a claim waits: a broken events
 * watch must not stop deploys and status for everyone. Every other cache is read when
 * deciding what to write (host ports, the claim's class, what exists), so it is essential.
 */
// Not needed to read or write: without events the activity log waits, without the
// isolation watches a deploy re-applies the isolation before its Deployment (one more round trip).
const OPTIONAL_SOURCES = new Set(['events', 'quotas', 'limits', 'networkPolicies']);

export class KubernetesGateway implements ClusterGateway {
  readonly name: string;
  private readonly http: KubeHttp;
  private readonly regionLabel: string;
  private readonly nodes: WatchCache<NodeJson>;
  private readonly pods: WatchCache<PodJson>;
  private readonly namespaces: WatchCache<NamespaceJson>;
  private readonly deployments: WatchCache<DeploymentJson>;
  private readonly claims: WatchCache<PersistentVolumeClaimJson>;
  private readonly isolation: Record<IsolationKind, WatchCache<IsolationEntry>>;
  private readonly events: WatchCache<EventJson>;
  private readonly listeners = new Set<(change: ClusterChange) => void>();
  /** regions() as of a version of the nodes' cache. */
  private readyRegions: { version: number; regions: string[] } | undefined;
  private readonly heartbeat: ApiHeartbeat | undefined;

  constructor(opts: KubernetesGatewayOptions) {
    this.http = opts.http;
    this.name = opts.name ?? opts.http.clusterName;
    this.regionLabel = opts.regionLabel;
    const log = opts.log;
    const stallMs = opts.watchStallMs;
    const emit = (change: ClusterChange) => {
      for (const l of this.listeners) l(change);
    };
    const resync = () => emit({ kind: 'resync' });
    // One pool for every cache kept whole: a namespace's name, an image, a timestamp, a toleration is held once across pods, Deployments and the rest.
    const pool = new ValuePool(new StringPool(STRINGS_PER_GENERATION), PIECES_PER_GENERATION);
    this.nodes = new WatchCache<NodeJson>({
      http: this.http,
      path: '/api/v1/nodes',
      indexes: { region: (n) => (n.metadata.labels?.[this.regionLabel] ? [n.metadata.labels[this.regionLabel]!] : []) },
      stallMs,
      pool,
      log,
    });
    this.pods = new WatchCache<PodJson>({
      http: this.http,
      path: '/api/v1/pods',
      // Other workloads' pods matter only for their node and host ports; V-Kube's own are served whole.
      transform: (p) => (p.metadata.labels?.['app.kubernetes.io/managed-by'] === 'vkube' ? p : slimForeignPod(p)),
      indexes: {
        node: (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []),
        namespace: (p) => [p.metadata.namespace ?? ''],
        hostPort: (p) => p.spec.containers.flatMap((c) => (c.ports ?? []).filter((x) => x.hostPort).map((x) => String(x.hostPort))),
      },
      onChange: (type, pod) => {
        if (pod.metadata.labels?.['app.kubernetes.io/managed-by'] === 'vkube') emit({ kind: 'pod', type, pod });
      },
      onSync: resync,
      stallMs,
      pool,
      log,
    });
    this.namespaces = new WatchCache<NamespaceJson>({
      http: this.http,
      path: '/api/v1/namespaces',
      labelSelector: MANAGED_SELECTOR,
      // Thousands of them, read only for their name, labels and whether they are going away.
      transform: (n) => ({ metadata: ownMetadata(n.metadata), ...(n.status?.phase ? { status: { phase: n.status.phase } } : {}) }),
      onChange: (type, namespace) => emit({ kind: 'namespace', type, namespace }),
      onSync: resync,
      stallMs,
      pool,
      log,
    });
    this.deployments = new WatchCache<DeploymentJson>({
      http: this.http,
      path: '/apis/apps/v1/deployments',
      labelSelector: MANAGED_SELECTOR,
      transform: keptDeployment,
      onChange: (type, deployment) => emit({ kind: 'deployment', type, deployment }),
      onSync: resync,
      stallMs,
      pool,
      log,
    });
    // The order's volume claim, for why its pod waits (GET /k8s/pod/status) and the class
    // it was made with. A cache of its own, not derived from events: only the claim
    // says its phase (a claim bound to an existing volume raises no event at all), and
    // an event about it is gone after an hour while the claim may wait for days.
    // Label-selected like the deployments: V-Kube never sees other workloads' claims.
    this.claims = new WatchCache<PersistentVolumeClaimJson>({
      http: this.http,
      path: '/api/v1/persistentvolumeclaims',
      labelSelector: MANAGED_SELECTOR,
      stallMs,
      pool,
      log,
    });
    // The isolation objects of V-Kube's namespaces, their names and a digest of their spec:
    // a deploy or a resync re-applies none of what the watch shows as V-Kube applied it.
    const isolationCache = (path: string) =>
      new WatchCache<IsolationEntry>({
        http: this.http,
        path,
        labelSelector: MANAGED_SELECTOR,
        transform: (o) => ({
          metadata: { name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}), ...(o.metadata.deletionTimestamp ? { deletionTimestamp: o.metadata.deletionTimestamp } : {}) },
          // The cache is typed by what it keeps; what arrives is the whole object.
          specDigest: specDigest(o as { spec?: unknown }),
        }),
        stallMs,
        pool,
        log,
      });
    this.isolation = {
      ResourceQuota: isolationCache('/api/v1/resourcequotas'),
      LimitRange: isolationCache('/api/v1/limitranges'),
      NetworkPolicy: isolationCache('/apis/networking.k8s.io/v1/networkpolicies'),
    };
    // Events are streamed: those of V-Kube's namespaces go to the event recorder. Only
    // those about V-Kube's volume claims are also kept (Kubernetes drops them after an
    // hour, and so does this cache): they say why a claim waits.
    this.events = new WatchCache<EventJson>({
      http: this.http,
      path: '/api/v1/events',
      retain: (e) => isVkubeClaimEvent(e) || isProbeKill(e),
      indexes: {
        claim: (e) => (isVkubeClaimEvent(e) ? [`${e.metadata.namespace}/${e.involvedObject?.name}`] : []),
        probeKill: (e) => (isProbeKill(e) ? [`${e.metadata.namespace}/${e.involvedObject?.name}`] : []),
      },
      emitOnList: true,
      // Every other workload's Events come down this cluster-wide watch too, to be dropped.
      skipsLine: isForeignEventLine,
      onChange: (type, event) => {
        if (event.metadata.namespace?.startsWith(NAMESPACE_PREFIX)) emit({ kind: 'event', type, event });
      },
      stallMs,
      log,
    });
    const heartbeatMs = opts.heartbeatMs ?? 3_000;
    if (heartbeatMs > 0) {
      this.heartbeat = new ApiHeartbeat({
        http: this.http,
        intervalMs: heartbeatMs,
        timeoutMs: Math.max(4_000, heartbeatMs),
        onDown: (reason) => {
          log?.(`cluster ${this.name}: ${reason}; the caches reconnect`);
          for (const c of this.caches) c.interrupt(reason);
        },
        onUp: () => log?.(`cluster ${this.name}: the API server answers again`),
      });
    }
  }

  /** The caches reads and writes depend on (not OPTIONAL_SOURCES), as health() names them. */
  private get essential(): Array<WatchCache<never>> {
    return [this.nodes, this.pods, this.namespaces, this.deployments, this.claims] as unknown as Array<WatchCache<never>>;
  }

  private get caches(): Array<WatchCache<never>> {
    return [this.nodes, this.pods, this.namespaces, this.deployments, this.claims, this.events, ...Object.values(this.isolation)] as unknown as Array<WatchCache<never>>;
  }

  start(): void {
    for (const c of this.caches) c.start();
    this.heartbeat?.start();
  }

  async stop(): Promise<void> {
    this.heartbeat?.stop();
    await Promise.all(this.caches.map((c) => c.stop()));
    this.http.close();
  }

  /** Every cache, the events too: at start-up there is time to wait for all of them. */
  async waitForSync(timeoutMs: number): Promise<boolean> {
    const results = await Promise.all(this.caches.map((c) => c.waitForSync(timeoutMs)));
    return results.every(Boolean);
  }

  health(): ClusterHealth {
    const named = {
      nodes: this.nodes,
      pods: this.pods,
      namespaces: this.namespaces,
      deployments: this.deployments,
      claims: this.claims,
      events: this.events,
      quotas: this.isolation.ResourceQuota,
      limits: this.isolation.LimitRange,
      networkPolicies: this.isolation.NetworkPolicy,
    };
    const now = Date.now();
    const sources: Record<string, SourceHealth> = {};
    for (const [name, c] of Object.entries(named)) {
      const st = c.status;
      sources[name] = {
        live: st.live,
        synced: st.synced,
        essential: !OPTIONAL_SOURCES.has(name),
        ...(st.lastError ? { lastError: st.lastError } : {}),
        ...(st.lastContact ? { quietMs: now - st.lastContact } : {}),
      };
    }
    const beat = this.heartbeat?.state;
    if (beat) sources.apiserver = { live: beat.up, synced: true, essential: true, ...(beat.lastError && !beat.up ? { lastError: beat.lastError } : {}) };
    return summarizeHealth(this.name, sources);
  }

  /** health().reachable && health().synced, without the record: every essential source live (live implies synced). */
  canRead(): boolean {
    if (this.heartbeat && !this.heartbeat.up) return false;
    for (const c of this.essential) if (!c.live) return false;
    return true;
  }

  connectionBudgets(): ReturnType<KubeHttp['budgets']> {
    return this.http.budgets();
  }

  cacheSizes(): Record<string, number> {
    return { nodes: this.nodes.size, pods: this.pods.size, namespaces: this.namespaces.size, deployments: this.deployments.size, claims: this.claims.size, claimEvents: this.events.size };
  }

  /** Reads need the node and pod caches synced and live. */
  private readable(): boolean {
    return this.nodes.live && this.pods.live;
  }

  regions(): string[] | undefined {
    if (!this.nodes.live) return undefined;
    // Asked by every checkports and deploy: worked out again only when a node changed. A copy
    // goes out, so no caller can change the kept list.
    if (this.readyRegions?.version !== this.nodes.version) {
      const regions = new Set<string>();
      for (const node of this.nodes.list()) {
        const region = node.metadata.labels?.[this.regionLabel];
        if (region && isReady(node)) regions.add(region);
      }
      this.readyRegions = { version: this.nodes.version, regions: [...regions].sort() };
    }
    return [...this.readyRegions.regions];
  }

  nodeRegions(): string[] | undefined {
    if (!this.nodes.synced) return undefined;
    return [...new Set([...this.nodes.list()].flatMap((n): string[] => (n.metadata.labels?.[this.regionLabel] ? [n.metadata.labels[this.regionLabel]!] : [])))].sort();
  }

  hasNode(node: string): boolean {
    return this.nodes.get(undefined, node) !== undefined;
  }

  regionCapacity(): RegionCapacity[] {
    const free = this.freeMemoryByRegion();
    const byRegion = new Map<string, RegionCapacity>();
    for (const node of this.nodes.list()) {
      const region = node.metadata.labels?.[this.regionLabel];
      if (!region) continue;
      let r = byRegion.get(region);
      if (!r) byRegion.set(region, (r = { region, nodes: 0, readyNodes: 0, cpuMillis: 0, memoryBytes: 0, pods: 0, freeMemoryBytes: free?.get(region) ?? 0 }));
      r.nodes++;
      if (!isReady(node)) continue;
      r.readyNodes++;
      const alloc = node.status?.allocatable ?? {};
      r.cpuMillis += alloc.cpu ? (parseMillicores(alloc.cpu) ?? 0) : 0;
      r.memoryBytes += parseQuantityBytes(alloc.memory);
      r.pods += Number(alloc.pods ?? 0) || 0;
    }
    return [...byRegion.values()].sort((a, b) => a.region.localeCompare(b.region));
  }

  nodeAddresses(): string[] {
    // Hostname and InternalDNS entries are names, not addresses; a connection is judged by the address it goes to.
    return [...this.nodes.list()].flatMap((node) => (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => a.address));
  }

  addressesOfNode(name: string): Array<{ type: string; address: string }> | undefined {
    const node = this.nodes.get(undefined, name);
    return node ? (node.status?.addresses ?? []) : undefined;
  }

  freeMemoryByRegion(): Map<string, number> | undefined {
    if (!this.readable()) return undefined;
    const free = new Map<string, number>();
    for (const node of this.nodes.list()) {
      const region = node.metadata.labels?.[this.regionLabel];
      if (!region || !isReady(node)) continue;
      let left = parseQuantityBytes(node.status?.allocatable?.memory);
      for (const pod of this.pods.byIndex('node', node.metadata.name)) {
        if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
        for (const c of pod.spec.containers as Array<{ resources?: { requests?: { memory?: string } } }>) left -= parseQuantityBytes(c.resources?.requests?.memory);
      }
      free.set(region, (free.get(region) ?? 0) + Math.max(0, left));
    }
    return free;
  }

  hostPortsInRegion(region: string, ports?: number[]): HostPortUse[] | undefined {
    if (!this.readable()) return undefined;
    const inRegion = (nodeName: string | undefined) => !!nodeName && this.nodes.get(undefined, nodeName)?.metadata.labels?.[this.regionLabel] === region;
    const candidates = ports
      ? [...new Set(ports)].flatMap((port) => this.pods.byIndex('hostPort', String(port)))
      : this.nodes.byIndex('region', region).flatMap((node) => this.pods.byIndex('node', node.metadata.name));
    const out: HostPortUse[] = [];
    // A pod with several of the ports comes once per port; the cache hands out the same object each time.
    const seen = new Set<PodJson>();
    for (const pod of candidates) {
      if (seen.has(pod) || !inRegion(pod.spec.nodeName)) continue;
      seen.add(pod);
      // A finished pod no longer holds its ports; a terminating one still does.
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      for (const c of pod.spec.containers) {
        for (const p of c.ports ?? []) {
          if (!p.hostPort || (ports && !ports.includes(p.hostPort))) continue;
          out.push({
            port: p.hostPort,
            protocol: p.protocol === 'UDP' ? 'UDP' : 'TCP',
            namespace: pod.metadata.namespace ?? '',
            pod: pod.metadata.name,
            node: pod.spec.nodeName!,
          });
        }
      }
    }
    return out;
  }

  podsInNamespace(namespace: string): PodJson[] {
    return this.pods.byIndex('namespace', namespace);
  }

  deployment(namespace: string, name: string): DeploymentJson | undefined {
    return this.deployments.get(namespace, name);
  }

  persistentVolumeClaim(namespace: string, name: string): PersistentVolumeClaimJson | undefined {
    return this.claims.get(namespace, name);
  }

  holdsIsolation(kind: IsolationKind, namespace: string, name: string): boolean {
    const cache = this.isolation[kind];
    const o = cache.live ? cache.get(namespace, name) : undefined;
    return o !== undefined && !o.metadata.deletionTimestamp;
  }

  watchedVersion(kind: string, namespace: string, name: string): string | undefined {
    if (kind === 'Deployment') {
      const d = this.deployments.live ? this.deployments.get(namespace, name) : undefined;
      return d && !d.metadata.deletionTimestamp ? contentVersion(kind, d) : undefined;
    }
    if (!isIsolationKind(kind)) return undefined;
    const cache = this.isolation[kind];
    const o = cache.live ? cache.get(namespace, name) : undefined;
    return o && !o.metadata.deletionTimestamp ? o.specDigest : undefined;
  }

  claimEvents(namespace: string, name: string): EventJson[] {
    const uid = this.claims.get(namespace, name)?.metadata.uid;
    const events = this.events.byIndex('claim', `${namespace}/${name}`);
    return uid ? events.filter((e) => !e.involvedObject?.uid || e.involvedObject.uid === uid) : events;
  }

  probeKills(namespace: string, pod: string): EventJson[] {
    return this.events.byIndex('probeKill', `${namespace}/${pod}`);
  }

  managedNamespaces(): NamespaceJson[] {
    return [...this.namespaces.list()];
  }

  managedNamespace(name: string): NamespaceJson | undefined {
    return this.namespaces.get(undefined, name);
  }

  async namespaceGone(name: string): Promise<boolean> {
    // A LIST by name: V-Kube's identity may list namespaces, not get one.
    const list = await this.call(`look up namespace ${name}`, () => this.http.get<{ items: unknown[] }>('/api/v1/namespaces', { query: { fieldSelector: `metadata.name=${name}` }, timeoutMs: 10_000 }));
    return list.items.length === 0;
  }

  async apply(objects: KubeManifest[], opts: WriteOptions = {}): Promise<Array<string | undefined>> {
    const versions: Array<string | undefined> = [];
    for (const obj of objects) {
      const stored = await this.call(`apply ${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`, () =>
        obj.kind === 'Deployment' ? this.writeDeployment(obj, opts) : this.http.apply<StoredObject>(objectPath(obj.kind, obj.metadata.name, obj.metadata.namespace), obj, FIELD_MANAGER, opts),
      );
      versions.push(contentVersion(obj.kind, stored));
    }
    return versions;
  }

  /**
   * A Deployment the watch does not show is created (POST), not applied: on the API server
   * an apply that creates reads the object first and decodes YAML; it answered ~2.5 ms
   * later than a create of the same Deployment and cost ~2.7 ms more of its CPU
   * (bench/create-vs-apply.ts), on the path of every first deploy. The create leaves
   * V-Kube's fields owned by an Update entry, which the next apply takes over first
   * (field-ownership.ts) — or that apply could never remove what a later spec drops. A
   * create refused because the Deployment exists (the watch had not shown it yet) falls
   * back to the same take-over and apply.
   */
  private async writeDeployment(obj: KubeManifest, opts: WriteOptions): Promise<StoredObject> {
    const ns = obj.metadata.namespace!;
    const cached = this.deployments.get(ns, obj.metadata.name);
    if (!cached) {
      try {
        return await this.http.post<StoredObject>(collectionPath(obj.kind, ns), obj, { ...opts, query: { fieldManager: FIELD_MANAGER } });
      } catch (err) {
        if (!(err instanceof KubeError && err.status === 409)) throw err;
      }
    }
    if (!cached || cached.ownedByCreate) await this.takeOverCreatedFields(ns, obj.metadata.name, opts);
    return this.http.apply<StoredObject>(objectPath(obj.kind, obj.metadata.name, ns), obj, FIELD_MANAGER, opts);
  }

  /**
   * Hands the fields V-Kube's create owns to its apply entry, reading the Deployment as it
   * is now (a LIST by name: V-Kube's identity may not get one). A patch whose guard fails
   * because the entries moved meanwhile (422) is made again from a fresh read.
   */
  private async takeOverCreatedFields(ns: string, name: string, opts: WriteOptions): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const list = await this.http.get<{ items: Array<{ metadata: RawMetadata }> }>(collectionPath('Deployment', ns), { ...opts, query: { fieldSelector: `metadata.name=${name}` } });
      const patch = ownershipUpgradePatch(list.items[0]?.metadata.managedFields, FIELD_MANAGER);
      if (!patch) return;
      try {
        await this.http.jsonPatch(objectPath('Deployment', name, ns), patch, opts);
        return;
      } catch (err) {
        if (err instanceof KubeError && err.status === 404) return;
        if (!(err instanceof KubeError && err.status === 422) || attempt >= TAKE_OVER_ATTEMPTS) throw err;
      }
    }
  }

  async prune(namespace: string, generation: number, opts: WriteOptions = {}): Promise<void> {
    const labelSelector = `${MANAGED_SELECTOR},${SPEC_GENERATION_LABEL}!=${generation}`;
    await Promise.all(
      PRUNED_KINDS.map((kind) =>
        this.call(`prune ${kind} in ${namespace}`, () => this.ignoreNotFound(() => this.http.delete(collectionPath(kind, namespace), { ...opts, query: { labelSelector } }))),
      ),
    );
  }

  async deleteNamespace(name: string, opts: WriteOptions = {}): Promise<void> {
    await this.call(`delete namespace ${name}`, () =>
      this.ignoreNotFound(() => this.http.delete(objectPath('Namespace', name), { ...opts, query: { propagationPolicy: 'Background' } })),
    );
  }

  async deletePod(namespace: string, name: string, opts: WriteOptions = {}): Promise<void> {
    await this.call(`delete pod ${namespace}/${name}`, () => this.ignoreNotFound(() => this.http.delete(objectPath('Pod', name, namespace), opts)));
  }

  async readLog(namespace: string, pod: string, opts: LogOptions): Promise<string> {
    return this.logCall(`read the log of ${namespace}/${pod}`, () => this.http.text(`${objectPath('Pod', pod, namespace)}/log`, { query: logQuery(opts), timeoutMs: 30_000 }));
  }

  async followLog(namespace: string, pod: string, opts: LogOptions, signal: AbortSignal): Promise<Readable> {
    return this.logCall(`follow the log of ${namespace}/${pod}`, () =>
      this.http.stream(`${objectPath('Pod', pod, namespace)}/log`, { query: { ...logQuery(opts), follow: true }, signal }),
    );
  }

  /**
   * The log endpoint answers 400 when it has nothing to give: a container still waiting
   * to start, or `previous` for a container that has no previous instance. That is the
   * state of the container, not a fault of V-Kube, so it leaves as a LogUnavailableError
   * with Kubernetes' words rather than as an internal error.
   */
  private async logCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.call(what, fn);
    } catch (err) {
      if (err instanceof KubeError && err.status === 400) throw new LogUnavailableError(err.detail ?? err.message, { cause: err });
      throw err;
    }
  }

  async exec(namespace: string, pod: string, opts: ExecOptions, signal?: AbortSignal): Promise<PodStream> {
    const query: Array<[string, string | boolean]> = [
      ['container', opts.container],
      ...opts.command.map((arg): [string, string] => ['command', arg]),
      ['stdin', opts.stdin],
      ['stdout', true],
      // With a terminal, stderr is the terminal too: Kubernetes refuses both at once.
      ['stderr', !opts.tty],
      ['tty', opts.tty],
    ];
    return this.streamCall(`exec in ${namespace}/${pod}`, () =>
      // v5 first: only it can half-close stdin (end of input); API servers before 1.30 answer v4.
      openKubeWebSocket(this.http, `${objectPath('Pod', pod, namespace)}/exec`, { query, protocols: [EXEC_PROTOCOL, EXEC_PROTOCOL_V4], ...(signal ? { signal } : {}) }),
    );
  }

  async portForward(namespace: string, pod: string, port: number, signal?: AbortSignal): Promise<PodStream> {
    return this.streamCall(`forward port ${port} of ${namespace}/${pod}`, () =>
      openKubeWebSocket(this.http, `${objectPath('Pod', pod, namespace)}/portforward`, { query: [['ports', port]], protocols: [PORT_FORWARD_PROTOCOL], ...(signal ? { signal } : {}) }),
    );
  }

  /**
   * The API server answers an exec or port-forward it cannot do now with 400: a
   * container not running yet or any more, a pod not scheduled or already finished.
   * That is the state of the pod, not a fault of V-Kube: a ConflictError (409) with
   * Kubernetes' words rather than an internal error.
   */
  private async streamCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.call(what, fn);
    } catch (err) {
      if (err instanceof KubeError && err.status === 400) throw new ConflictError(`Kubernetes cannot ${what} now: ${err.detail ?? err.message}`, { cause: err });
      throw err;
    }
  }

  async podMetrics(namespace: string, pod: string): Promise<PodMetricsJson | undefined> {
    try {
      return await this.http.get<PodMetricsJson>(`/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods/${encodeURIComponent(pod)}`, { timeoutMs: 10_000 });
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return undefined;
      return this.call(`read the metrics of ${namespace}/${pod}`, () => Promise.reject(err));
    }
  }

  async managedPodMetrics(): Promise<Map<string, PodMetricsJson>> {
    // Some 2 MB at 5,000 pods, in one answer (the metrics API does not paginate).
    const items = await this.call('list the metrics of V-Kube\'s pods', () =>
      this.http.listItems<PodMetricsJson>('/apis/metrics.k8s.io/v1beta1/pods', { query: { labelSelector: MANAGED_SELECTOR }, timeoutMs: 20_000 }),
    );
    const out = new Map<string, PodMetricsJson>();
    for (const m of items) if (m.metadata?.namespace) out.set(`${m.metadata.namespace}/${m.metadata.name}`, m);
    return out;
  }

  async kubeletSummary(node: string): Promise<KubeletSummaryJson> {
    return this.call(`read the kubelet stats of node ${node}`, () => this.http.get<KubeletSummaryJson>(`/api/v1/nodes/${encodeURIComponent(node)}/proxy/stats/summary`, { timeoutMs: 10_000 }));
  }

  onChange(listener: (change: ClusterChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async ignoreNotFound<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Runs a Kubernetes call and turns its failure into a domain error naming the cluster. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof KubeError)) throw err;
      if (err.unreachable) throw new UnavailableError(`cluster ${this.name} could not ${what}: ${err.status === 0 ? 'unreachable' : `HTTP ${err.status}`}`, { cause: err });
      if (err.status === 404) throw new NotFoundError(`${what}: not found in cluster ${this.name}`, { cause: err });
      if (err.status === 409) throw new ConflictError(`${what}: conflict in cluster ${this.name}`, { cause: err });
      if (err.status === 401 || err.status === 403) {
        throw new UnavailableError(`cluster ${this.name} refused V-Kube's identity to ${what} (HTTP ${err.status}); check its RBAC`, { cause: err });
      }
      throw err;
    }
  }
}

/** An object as the API server answers a write of it. */
type StoredObject = KubeObject & { metadata: ObjectMeta; spec?: unknown };

/** Metadata as the API server sends it, before a cache drops the managed fields. */
type RawMetadata = ObjectMeta & { managedFields?: ManagedFieldsEntry[] };

/** An isolation object as its cache keeps it: where it is, and what its spec is (see watchedVersion). */
interface IsolationEntry {
  metadata: ObjectMeta;
  specDigest: string;
}

/**
 * What moves with an object's desired content and only with it (see watchedVersion): a
 * Deployment's generation; for an isolation object a digest of its spec, since a quota's
 * status, and with it its resourceVersion, changes with every pod it counts. Both the
 * apply's answer and the watch's events come from the API server's one serializer, so the
 * same spec gives the same text. Undefined for kinds no watch follows.
 */
function contentVersion(kind: string, o: { metadata: ObjectMeta; spec?: unknown }): string | undefined {
  if (kind === 'Deployment') return o.metadata.generation !== undefined ? `g${o.metadata.generation}` : undefined;
  return isIsolationKind(kind) ? specDigest(o) : undefined;
}

function specDigest(o: { spec?: unknown }): string {
  return createHash('sha1')
    .update(JSON.stringify(o.spec ?? null))
    .digest('base64url')
    .slice(0, 12);
}

/**
 * What a cache keeps of the metadata of an object V-Kube made: its name, labels, V-Kube's
 * own annotations (`vkube.dev/…`: generations, description) and whether it is going away.
 * Its uid, resourceVersion, timestamps and Kubernetes' annotations are never read, and at
 * 5,000 orders they were a third of these caches' memory.
 */
function ownMetadata(m: ObjectMeta): ObjectMeta {
  const annotations = ownAnnotations(m.annotations);
  return {
    name: m.name,
    ...(m.namespace ? { namespace: m.namespace } : {}),
    ...(m.labels ? { labels: m.labels } : {}),
    ...(annotations ? { annotations } : {}),
    ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
  };
}

/**
 * What the Deployments' cache keeps of one. The reconciler compares generations and
 * replicas; the pod template itself lives in the pods, and of the status only the counts
 * are kept (its conditions' messages were most of a Deployment's memory). Built property
 * by property, not as `{ ...ownMetadata(…), generation }`: V8 gives such literals a
 * hidden class per object (kernel/extended.ts). Exported for its test.
 */
export function keptDeployment(d: DeploymentJson): DeploymentJson {
  const metadata = ownMetadata(d.metadata);
  if (d.metadata.generation !== undefined) metadata.generation = d.metadata.generation;
  const template = { metadata: { annotations: ownAnnotations(d.spec?.template?.metadata?.annotations) ?? {} } };
  const kept: DeploymentJson = { metadata, spec: d.spec?.replicas !== undefined ? { replicas: d.spec.replicas, template } : { template } };
  if (d.status) kept.status = deploymentCounts(d.status);
  if (ownsByUpdate((d.metadata as RawMetadata).managedFields, FIELD_MANAGER)) kept.ownedByCreate = true;
  return kept;
}

function ownAnnotations(a: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!a) return undefined;
  let own: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(a)) if (k.startsWith(OWN_ANNOTATION_PREFIX)) (own ??= {})[k] = v;
  return own;
}

function deploymentCounts(s: NonNullable<DeploymentJson['status']>): NonNullable<DeploymentJson['status']> {
  const { replicas, readyReplicas, availableReplicas, observedGeneration } = s;
  return { replicas, readyReplicas, availableReplicas, observedGeneration };
}

function slimForeignPod(p: PodJson): PodJson {
  const resources = (c: PodJson['spec']['containers'][number]) => (c as { resources?: { requests?: { memory?: string } } }).resources;
  return {
    metadata: { name: p.metadata.name, namespace: p.metadata.namespace, uid: p.metadata.uid, resourceVersion: p.metadata.resourceVersion, labels: p.metadata.labels, deletionTimestamp: p.metadata.deletionTimestamp },
    spec: {
      nodeName: p.spec.nodeName,
      containers: p.spec.containers.map((c) => ({ name: c.name, ...(c.ports ? { ports: c.ports } : {}), ...(resources(c) ? { resources: { requests: { memory: resources(c)?.requests?.memory } } } : {}) })),
    },
    status: { phase: p.status?.phase },
  } as PodJson;
}

/** "Container app failed liveness probe, will be restarted": the kubelet's kill, in one of V-Kube's namespaces. */
function isProbeKill(e: EventJson): boolean {
  return (
    e.reason === 'Killing' &&
    e.involvedObject?.kind === 'Pod' &&
    (e.metadata.namespace?.startsWith(NAMESPACE_PREFIX) ?? false) &&
    /failed (liveness|startup) probe/.test(e.message ?? '')
  );
}

/**
 * An Event's watch line in a namespace not V-Kube's, told without decoding it: the first
 * `"namespace"` of the line is the Event's own (its metadata comes before the
 * `involvedObject`, and a string value cannot hold an unescaped quote). Exported for tests.
 */
export function isForeignEventLine(line: string): boolean {
  const ns = NAMESPACE_IN_LINE.exec(line)?.[1];
  return ns !== undefined && !ns.startsWith(NAMESPACE_PREFIX);
}
const NAMESPACE_IN_LINE = /"namespace":"([^"]*)"/;

function isVkubeClaimEvent(e: EventJson): boolean {
  return e.involvedObject?.kind === 'PersistentVolumeClaim' && (e.metadata.namespace?.startsWith(NAMESPACE_PREFIX) ?? false);
}

function parseQuantityBytes(q: string | undefined): number {
  return q ? (parseBytes(q) ?? 0) : 0;
}

function isReady(node: NodeJson): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function logQuery(opts: LogOptions): Query {
  return {
    container: opts.container,
    tailLines: opts.tailLines,
    sinceSeconds: opts.sinceSeconds,
    timestamps: opts.timestamps || undefined,
    previous: opts.previous || undefined,
    limitBytes: opts.limitBytes,
  };
}
