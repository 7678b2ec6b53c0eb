/**
 * The cluster port: everything the domain asks of Kubernetes. Reads are answered from
 * watch caches; writes go to the API. `kubernetes-gateway.ts` implements it.
 *
 * Objects cross this boundary as Kubernetes' own JSON, untouched, so what V-Kube shows
 * a customer is exactly what the API server said.
 */
import type { Readable } from 'node:stream';

/** The objects that isolate an order's namespace, made when it is sold, before any pod. */
export const ISOLATION_KINDS = ['ResourceQuota', 'LimitRange', 'NetworkPolicy'] as const;
export type IsolationKind = (typeof ISOLATION_KINDS)[number];

export function isIsolationKind(kind: string): kind is IsolationKind {
  return (ISOLATION_KINDS as readonly string[]).includes(kind);
}

export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  /** Moves with the spec only, on the kinds that keep it (a Deployment's). */
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** One of `running`, `waiting`, `terminated` of a container status (each carries some of these). */
export interface ContainerStateJson {
  reason?: string;
  message?: string;
  exitCode?: number;
  signal?: number;
  startedAt?: string;
  finishedAt?: string;
}

export interface ContainerStatusJson {
  name: string;
  ready?: boolean;
  /** False until the container's startup probe succeeds (true at once without one). */
  started?: boolean;
  restartCount?: number;
  state?: Record<string, ContainerStateJson | undefined>;
  lastState?: Record<string, ContainerStateJson | undefined>;
}

/** A Pod as the API returns it (fields V-Kube reads are typed; the rest passes through). */
export interface PodJson {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: {
    nodeName?: string;
    containers: Array<{ name: string; image?: string; ports?: Array<{ containerPort: number; hostPort?: number; protocol?: string }> }>;
    [field: string]: unknown;
  };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    containerStatuses?: ContainerStatusJson[];
    [field: string]: unknown;
  };
}

export interface DeploymentJson {
  metadata: ObjectMeta;
  spec?: { replicas?: number; template?: { metadata?: { annotations?: Record<string, string> } } };
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number; observedGeneration?: number };
  /**
   * Kept by the cache, not a Kubernetes field: V-Kube created this Deployment and its
   * fields are still owned by that create, so its next apply first takes them over
   * (cluster/field-ownership.ts).
   */
  ownedByCreate?: true;
}

export interface NamespaceJson {
  metadata: ObjectMeta;
  status?: { phase?: string };
}

export interface EventJson {
  metadata: ObjectMeta;
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
}

/** A PersistentVolumeClaim as the API returns it (fields V-Kube reads are typed; the rest passes through). */
export interface PersistentVolumeClaimJson {
  metadata: ObjectMeta;
  spec?: { storageClassName?: string | null; volumeName?: string; [field: string]: unknown };
  status?: { phase?: string; capacity?: Record<string, string>; [field: string]: unknown };
}

/** metrics.k8s.io PodMetrics. */
export interface PodMetricsJson {
  metadata?: { name: string; namespace?: string };
  timestamp?: string;
  window?: string;
  containers: Array<{ name: string; usage: { cpu?: string; memory?: string } }>;
}

/**
 * What V-Kube reads of the kubelet's Summary API (`/stats/summary`, kubelet stats
 * v1alpha1): each pod's network counters and its containers' disk use. Every field is
 * optional: kubelets leave out what their runtime cannot give.
 */
export interface KubeletSummaryJson {
  pods?: Array<{
    podRef?: { name?: string; namespace?: string; uid?: string };
    network?: { time?: string; rxBytes?: number; txBytes?: number; interfaces?: Array<{ name?: string; rxBytes?: number; txBytes?: number }> };
    containers?: Array<{
      name?: string;
      cpu?: { usageNanoCores?: number };
      memory?: { workingSetBytes?: number };
      rootfs?: { usedBytes?: number };
      logs?: { usedBytes?: number };
    }>;
    'ephemeral-storage'?: { usedBytes?: number };
  }>;
}

export interface HostPortUse {
  port: number;
  protocol: 'TCP' | 'UDP';
  namespace: string;
  pod: string;
  node: string;
}

/**
 * On the Namespace of an order: the region it was applied for. With several clusters it
 * says which one the namespace belongs in (cluster-set.ts).
 */
export const NAMESPACE_REGION_LABEL = 'vkube.dev/region';

/** One region's nodes and room, for the provider (GET /admin/clusters). */
export interface RegionCapacity {
  region: string;
  /** The cluster the region is in (several clusters only). */
  cluster?: string;
  nodes: number;
  readyNodes: number;
  /** Allocatable over Ready nodes. */
  cpuMillis: number;
  memoryBytes: number;
  pods: number;
  /** Allocatable memory not yet requested by pods, over Ready nodes. */
  freeMemoryBytes: number;
}

export interface ClusterHealth {
  /**
   * The API server answers and every cache that reads and writes depend on is connected:
   * answers reflect the cluster. The events cache is not one of them (see `degraded`).
   */
  reachable: boolean;
  /** Every cache that reads and writes depend on has completed its first LIST. */
  synced: boolean;
  detail?: string;
  /**
   * A source that only the activity log and the storage notes read is down: deploys and
   * status go on, those answers may lag. Says which and why.
   */
  degraded?: string;
  /** Each source on its own: the watch caches by name, and `apiserver` (the heartbeat). */
  sources?: Record<string, SourceHealth>;
  /** Several clusters: each one's own health, by name. */
  clusters?: Record<string, ClusterHealth>;
}

export interface SourceHealth {
  /** Synced and connected (the heartbeat: answering). */
  live: boolean;
  synced: boolean;
  /** Whether deploys and reads wait for it. */
  essential: boolean;
  lastError?: string;
  /** Ms since the source was last heard from (an event, a bookmark, a LIST, an answer). */
  quietMs?: number;
}

export interface LogOptions {
  container?: string;
  tailLines?: number;
  sinceSeconds?: number;
  timestamps?: boolean;
  previous?: boolean;
  limitBytes?: number;
}

/** A command to run in a container of a pod (pods/exec). */
export interface ExecOptions {
  container: string;
  /** argv: no shell is involved unless the command names one. */
  command: string[];
  stdin: boolean;
  tty: boolean;
}

/**
 * A live exec or port-forward stream to a pod: WebSocket messages in Kubernetes'
 * channel framing (src/kernel/stream-channels.ts), one message per frame, both ways.
 * Events: 'frame' (a Buffer, channel byte first) and 'close' (code, reason), once.
 *
 * It starts paused, so nothing the API server sends first (a port-forward's port
 * prefix, a shell's prompt) is emitted before anyone listens: attach the listeners, then
 * resume(). Check `closed` too: a stream may have ended before its 'close' was heard.
 */
export interface PodStream {
  /** The stream has ended (its 'close' was or is being emitted). */
  readonly closed: boolean;
  /** The subprotocol the API server agreed on (v5.channel.k8s.io, v4.channel.k8s.io). */
  readonly protocol: string;
  /** Bytes handed to send() and not yet written to the socket. */
  readonly bufferedAmount: number;
  /** Sends one frame; `done` runs once it is written (or could not be). */
  send(frame: Buffer, done?: (err?: Error) => void): void;
  /** Stops reading from the API server (a slow reader on the other side), and resumes. */
  pause(): void;
  resume(): void;
  /** Ends the stream; 'close' follows. */
  close(): void;
  on(event: 'frame', listener: (frame: Buffer) => void): this;
  on(event: 'close', listener: (code: number, reason: string) => void): this;
  off(event: 'frame', listener: (frame: Buffer) => void): this;
  off(event: 'close', listener: (code: number, reason: string) => void): this;
}

export type ClusterChange =
  | { kind: 'pod'; type: 'ADDED' | 'MODIFIED' | 'DELETED'; pod: PodJson }
  | { kind: 'namespace'; type: 'ADDED' | 'MODIFIED' | 'DELETED'; namespace: NamespaceJson }
  | { kind: 'deployment'; type: 'ADDED' | 'MODIFIED' | 'DELETED'; deployment: DeploymentJson }
  | { kind: 'event'; type: 'ADDED' | 'MODIFIED' | 'DELETED'; event: EventJson }
  | { kind: 'resync' };

/** On every object `prune` may delete: the spec generation of the order it was applied for. */
export const SPEC_GENERATION_LABEL = 'vkube.dev/spec-generation';

/** Bounds one write: a fenced writer must be done before its hold on the Lease could lapse. */
export interface WriteOptions {
  timeoutMs?: number;
}

/**
 * What only the reconcile leader may do. Kept apart from the reads so that the domain
 * services that serve requests (on every replica) are handed no way to write.
 */
export interface ClusterWriter {
  /**
   * Server-side applies each object in order (creating or updating it). Answers each
   * object's content version as the API server stored it (see ClusterReader.watchedVersion;
   * undefined for the kinds no watch follows).
   */
  apply(objects: KubeManifest[], opts?: WriteOptions): Promise<Array<string | undefined>>;
  /**
   * Deletes V-Kube's Secrets, ConfigMaps, Services and Ingresses in the namespace that
   * were applied for another spec generation than `generation` (SPEC_GENERATION_LABEL):
   * what the current spec no longer has. One delete-collection per kind: V-Kube never
   * needs to read a Secret to prune it.
   */
  prune(namespace: string, generation: number, opts?: WriteOptions): Promise<void>;
  /** Deletes a namespace and everything in it; resolves once the deletion is accepted. */
  deleteNamespace(name: string, opts?: WriteOptions): Promise<void>;
  deletePod(namespace: string, name: string, opts?: WriteOptions): Promise<void>;
}

/** The cluster as every replica sees it: watch caches, logs, metrics. */
export interface ClusterReader {
  /** The cluster's name, for messages and logs. */
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
  waitForSync(timeoutMs: number): Promise<boolean>;
  health(): ClusterHealth;
  /** Objects held by each watch cache, for metrics. */
  cacheSizes(): Record<string, number>;
  /** How full each pool of connections to the API server is (kube-http.ts budgets), for metrics. */
  connectionBudgets(): Array<{ budget: string; max: number; open: number; queued: number }>;

  /** Distinct region label values of Ready nodes, sorted; undefined when the cluster cannot be read. */
  regions(): string[] | undefined;
  /** Every region label value on any node as last seen, Ready or not; undefined before the first LIST. */
  nodeRegions?(): string[] | undefined;
  /** Nodes and room per region (undefined entries: nothing known yet). */
  regionCapacity?(): RegionCapacity[];
  /** Whether a node of that name is in this cluster (as last seen). */
  hasNode?(node: string): boolean;
  /** Several clusters: each one on its own (absent for one cluster). */
  members?(): ClusterReader[];
  /**
   * Several clusters: the health of the one that holds the namespace, else the one that
   * owns the region; undefined when none is known. Absent for one cluster: health() is it.
   */
  healthOf?(where: { namespace?: string; region?: string }): ClusterHealth | undefined;
  /**
   * Whether reads can be answered now: health() is reachable and synced (with several
   * clusters: so is the one holding `where`, as healthOf says) — without building either
   * record. Asked on every read (the status route); health() and healthOf say why not.
   */
  canRead?(where?: { namespace?: string; region?: string }): boolean;
  /** Allocatable memory not yet requested by pods, per region (Ready nodes only); undefined when the cluster cannot be read. */
  freeMemoryByRegion(): Map<string, number> | undefined;
  /** The IP addresses the nodes report (InternalIP, ExternalIP), as last seen: image checks never contact them unless allowed. */
  nodeAddresses(): string[];
  /** One node's addresses as it reports them (`[{type: 'ExternalIP', address}]`, …), as last seen; undefined for a node not in the cache. */
  addressesOfNode(name: string): Array<{ type: string; address: string }> | undefined;
  /**
   * Host ports used by pods on the region's nodes — only those in `ports` when given
   * (answered from an index, whatever the number of pods); undefined when the cluster
   * cannot be read.
   */
  hostPortsInRegion(region: string, ports?: number[]): HostPortUse[] | undefined;
  podsInNamespace(namespace: string): PodJson[];
  deployment(namespace: string, name: string): DeploymentJson | undefined;
  /** A volume claim in one of V-Kube's namespaces (undefined when it does not exist or is not V-Kube's). */
  persistentVolumeClaim(namespace: string, name: string): PersistentVolumeClaimJson | undefined;
  /**
   * The events Kubernetes currently holds about that claim (provisioning, binding), in no
   * particular order; those of an earlier claim of the same name are left out once the
   * claim is known.
   */
  claimEvents(namespace: string, name: string): EventJson[];
  /**
   * Whether the cluster holds this isolation object of one of V-Kube's namespaces (its
   * quota, limits or network policy), as a live watch shows it; false when it does not
   * or when that watch is not live (then nothing can be taken as in place).
   */
  holdsIsolation(kind: IsolationKind, namespace: string, name: string): boolean;
  /**
   * The content version of one of V-Kube's objects as a live watch shows it now: it moves
   * when the object's desired content does (a Deployment's generation, a digest of an
   * isolation object's spec), not with its status. Equal to what `apply` answered when
   * nobody changed the object since. Undefined when the object is absent or going away,
   * when no watch follows its kind, or when that watch is not live.
   */
  watchedVersion(kind: string, namespace: string, name: string): string | undefined;
  /**
   * The kubelet's events about killing a container of that pod because its liveness or
   * startup probe failed (reason Killing), as the events watch holds them (Kubernetes
   * keeps events an hour). The pod's status cannot tell such a kill from a normal exit.
   */
  probeKills(namespace: string, pod: string): EventJson[];
  /** Namespaces carrying V-Kube's managed-by label. */
  managedNamespaces(): NamespaceJson[];
  /** One of them by name (undefined when it does not exist or is not V-Kube's). */
  managedNamespace(name: string): NamespaceJson | undefined;
  /** Asks the API itself (not a cache, which may lag) whether the namespace no longer exists. */
  namespaceGone(name: string): Promise<boolean>;

  readLog(namespace: string, pod: string, opts: LogOptions): Promise<string>;
  /** A followed log; aborting `signal` ends the upstream request. */
  followLog(namespace: string, pod: string, opts: LogOptions, signal: AbortSignal): Promise<Readable>;

  /**
   * Runs a command in a container of the pod (pods/exec over WebSocket, v5.channel.k8s.io
   * preferred); resolves once the API server accepted it. A pod or container that does not
   * exist is a NotFoundError. Not a write: every replica may exec, not only the leader.
   */
  exec(namespace: string, pod: string, opts: ExecOptions, signal?: AbortSignal): Promise<PodStream>;
  /** One TCP connection to `port` inside the pod's network namespace (pods/portforward over WebSocket, v4.channel.k8s.io). */
  portForward(namespace: string, pod: string, port: number, signal?: AbortSignal): Promise<PodStream>;

  /** The pod's CPU and memory from the metrics API; undefined while it has no sample yet. */
  podMetrics(namespace: string, pod: string): Promise<PodMetricsJson | undefined>;
  /**
   * Every V-Kube pod's CPU and memory from the metrics API, keyed by `namespace/name`, in
   * one label-selected LIST per cluster (a pod without a sample yet is absent): the usage
   * sampler's read, which per pod was thousands of API calls a tick.
   */
  managedPodMetrics(): Promise<Map<string, PodMetricsJson>>;
  /**
   * The node's kubelet Summary API (`/stats/summary`) through the API server's node
   * proxy: every pod's network counters and disk use on that node, in one read.
   */
  kubeletSummary(node: string): Promise<KubeletSummaryJson>;

  /** Changes seen by the watches, for the reconciler and event recorder. */
  onChange(listener: (change: ClusterChange) => void): () => void;
}

export interface ClusterGateway extends ClusterReader, ClusterWriter {}
