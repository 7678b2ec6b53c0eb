/**
 * Several Kubernetes clusters behind one V-Kube, seen as one ClusterGateway. Each member
 * is a whole KubernetesGateway of its own (its connections, watch caches, heartbeat) and
 * owns the regions its nodes carry; one member's trouble stays its own.
 *
 * Reads that the watch caches answer are the union of the members' caches: an order's
 * namespace lives in exactly one cluster, so the union holds it once. Calls that go to an
 * API server (logs, exec, metrics, writes) go to the member that holds the namespace, pod
 * or node — never to every member, so a dark cluster cannot hold up the others' calls.
 * `healthOf` says whether the cluster behind one order's namespace or region answers:
 * the domain asks it before serving an order, and answers 503 naming the region.
 *
 * Where a namespace lives: the member whose namespace cache holds it (a dark member's
 * cache keeps what it last saw), else the one it was applied to; a Namespace V-Kube
 * applies carries the region it is for (NAMESPACE_REGION_LABEL), which picks the member.
 */
import type { Readable } from 'node:stream';
import { UnavailableError } from '../kernel/errors.js';
import type {
  ClusterChange,
  ClusterGateway,
  ClusterHealth,
  ClusterWriter,
  DeploymentJson,
  EventJson,
  KubeletSummaryJson,
  ExecOptions,
  HostPortUse,
  IsolationKind,
  KubeManifest,
  LogOptions,
  NamespaceJson,
  PersistentVolumeClaimJson,
  PodJson,
  PodMetricsJson,
  PodStream,
  RegionCapacity,
  SourceHealth,
  WriteOptions,
} from './gateway.js';
import { NAMESPACE_REGION_LABEL } from './gateway.js';

/** How long the region → cluster map is reused before the node caches are read again (a hot path: checkports). */
const OWNERS_TTL_MS = 1000;

export class ClusterSet implements ClusterGateway {
  readonly name: string;
  private readonly byName: Map<string, ClusterGateway>;
  /** Each member's own writer: fenced by that member's Lease (services.ts), the member itself until then. */
  private readonly writers = new Map<string, ClusterWriter>();
  /** Regions each member's Ready nodes carried when last readable: a dark member's are kept. */
  private readonly lastRegions = new Map<string, string[]>();
  /** Regions each member's nodes carried when last seen: the owner map of a member that never synced since. */
  private readonly lastOwned = new Map<string, string[]>();
  /** Namespace → member it was applied to (until a cache shows it). */
  private readonly placed = new Map<string, ClusterGateway>();
  private owners: { at: number; map: Map<string, ClusterGateway>; conflicts: Map<string, string[]> } | undefined;

  constructor(
    readonly clusters: ClusterGateway[],
    private readonly log?: (msg: string) => void,
  ) {
    if (clusters.length === 0) throw new Error('a cluster set needs at least one cluster');
    this.byName = new Map(clusters.map((c) => [c.name, c]));
    if (this.byName.size !== clusters.length) throw new Error(`two clusters share a name: ${clusters.map((c) => c.name).join(', ')}`);
    this.name = clusters.map((c) => c.name).join('+');
  }

  members(): ClusterGateway[] {
    return [...this.clusters];
  }

  /** Routes each member's writes through `wrap(member)` (its Lease fence). */
  fenceWrites(wrap: (member: ClusterGateway) => ClusterWriter): void {
    for (const c of this.clusters) this.writers.set(c.name, wrap(c));
  }

  start(): void {
    for (const c of this.clusters) c.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.clusters.map((c) => c.stop()));
  }

  /** True when every member synced in time; a member that did not is reported by health(). */
  async waitForSync(timeoutMs: number): Promise<boolean> {
    return (await Promise.all(this.clusters.map((c) => c.waitForSync(timeoutMs)))).every(Boolean);
  }

  /**
   * Reachable while any member is: the others keep serving. A dark member is named in
   * `degraded` (and in `clusters`); orders in it answer 503 through healthOf.
   */
  health(): ClusterHealth {
    const each = this.clusters.map((c) => [c.name, c.health()] as const);
    const up = each.filter(([, h]) => h.reachable);
    const down = each.filter(([, h]) => !h.reachable);
    const sources: Record<string, SourceHealth> = {};
    for (const [name, h] of each) for (const [source, s] of Object.entries(h.sources ?? {})) sources[`${name}/${source}`] = s;
    const conflicts = [...this.regionOwners().conflicts].map(([region, names]) => `region ${region} is in clusters ${names.join(' and ')}`);
    const degraded = [...down.map(([name, h]) => `cluster ${name} cannot be reached: ${h.detail ?? 'not synced'}`), ...each.flatMap(([, h]) => (h.degraded ? [h.degraded] : [])), ...conflicts];
    return {
      reachable: up.length > 0,
      synced: up.length > 0 && up.every(([, h]) => h.synced),
      ...(up.length === 0 ? { detail: down.map(([, h]) => h.detail ?? 'not synced').join('; ') } : {}),
      ...(degraded.length ? { degraded: degraded.join('; ') } : {}),
      sources,
      clusters: Object.fromEntries(each),
    };
  }

  /** health() reachable and synced, and so is healthOf(where) when it names a member: read without building either. */
  canRead(where?: { namespace?: string; region?: string }): boolean {
    const member = where ? this.memberOf(where) : undefined;
    if (member) return canRead(member);
    return this.clusters.some(canRead);
  }

  private memberOf(where: { namespace?: string; region?: string }): ClusterGateway | undefined {
    return (where.namespace ? this.memberOfNamespace(where.namespace) : undefined) ?? (where.region ? this.ownerOf(where.region) : undefined);
  }

  healthOf(where: { namespace?: string; region?: string }): ClusterHealth | undefined {
    const member = this.memberOf(where);
    if (!member) return undefined;
    const h = member.health();
    if (h.reachable) return h;
    const region = where.region ?? '';
    return { ...h, detail: `${region ? `region ${region} (cluster ${member.name})` : `cluster ${member.name}`} cannot be reached now: ${h.detail ?? 'not synced yet'}` };
  }

  cacheSizes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.clusters) for (const [cache, n] of Object.entries(c.cacheSizes())) out[cache] = (out[cache] ?? 0) + n;
    return out;
  }

  connectionBudgets(): ReturnType<ClusterGateway['connectionBudgets']> {
    return this.clusters.flatMap((c) => c.connectionBudgets());
  }

  /** Every member's regions: as its Ready nodes show them, or, while it is dark, as they last did. */
  regions(): string[] | undefined {
    let any = false;
    const all = new Set<string>();
    for (const c of this.clusters) {
      const now = c.regions();
      if (now) this.lastRegions.set(c.name, now);
      const regions = now ?? this.lastRegions.get(c.name);
      if (!regions) continue;
      any = true;
      for (const r of regions) all.add(r);
    }
    return any ? [...all].sort() : undefined;
  }

  freeMemoryByRegion(): Map<string, number> | undefined {
    let any = false;
    const out = new Map<string, number>();
    for (const c of this.clusters) {
      const free = c.freeMemoryByRegion();
      if (!free) continue;
      any = true;
      for (const [region, bytes] of free) if (this.ownerOf(region) === c) out.set(region, bytes);
    }
    return any ? out : undefined;
  }

  regionCapacity(): RegionCapacity[] {
    return this.clusters.flatMap((c) => (c.regionCapacity?.() ?? []).map((r) => ({ ...r, cluster: c.name })));
  }

  nodeAddresses(): string[] {
    return this.clusters.flatMap((c) => c.nodeAddresses());
  }

  hostPortsInRegion(region: string, ports?: number[]): HostPortUse[] | undefined {
    const { map, conflicts } = this.regionOwners();
    // A region in two clusters cannot be told free: as if unreachable (checkports InternalErr, deploys 503).
    if (conflicts.has(region)) return undefined;
    const owner = map.get(region);
    return owner ? owner.hostPortsInRegion(region, ports) : [];
  }

  podsInNamespace(namespace: string): PodJson[] {
    return this.clusters.flatMap((c) => c.podsInNamespace(namespace));
  }

  deployment(namespace: string, name: string): DeploymentJson | undefined {
    return this.first((c) => c.deployment(namespace, name));
  }

  persistentVolumeClaim(namespace: string, name: string): PersistentVolumeClaimJson | undefined {
    return this.first((c) => c.persistentVolumeClaim(namespace, name));
  }

  holdsIsolation(kind: IsolationKind, namespace: string, name: string): boolean {
    return this.memberOfNamespace(namespace)?.holdsIsolation(kind, namespace, name) ?? false;
  }

  watchedVersion(kind: string, namespace: string, name: string): string | undefined {
    return this.memberOfNamespace(namespace)?.watchedVersion(kind, namespace, name);
  }

  claimEvents(namespace: string, name: string): EventJson[] {
    const member = this.memberOfNamespace(namespace);
    return member ? member.claimEvents(namespace, name) : [];
  }

  probeKills(namespace: string, pod: string): EventJson[] {
    const member = this.memberOfNamespace(namespace);
    return member ? member.probeKills(namespace, pod) : [];
  }

  managedNamespaces(): NamespaceJson[] {
    return this.clusters.flatMap((c) => c.managedNamespaces());
  }

  managedNamespace(name: string): NamespaceJson | undefined {
    return this.first((c) => c.managedNamespace(name));
  }

  /** Asks the cluster the namespace is in; one never seen anywhere is gone from every reachable member that says so. */
  async namespaceGone(name: string): Promise<boolean> {
    const member = this.memberOfNamespace(name);
    if (member) return member.namespaceGone(name);
    const reachable = this.clusters.filter((c) => c.health().reachable);
    return (await Promise.all(reachable.map((c) => c.namespaceGone(name)))).every(Boolean);
  }

  readLog(namespace: string, pod: string, opts: LogOptions): Promise<string> {
    return this.podCall(namespace, pod, (c) => c.readLog(namespace, pod, opts));
  }

  followLog(namespace: string, pod: string, opts: LogOptions, signal: AbortSignal): Promise<Readable> {
    return this.podCall(namespace, pod, (c) => c.followLog(namespace, pod, opts, signal));
  }

  exec(namespace: string, pod: string, opts: ExecOptions, signal?: AbortSignal): Promise<PodStream> {
    return this.podCall(namespace, pod, (c) => c.exec(namespace, pod, opts, signal));
  }

  portForward(namespace: string, pod: string, port: number, signal?: AbortSignal): Promise<PodStream> {
    return this.podCall(namespace, pod, (c) => c.portForward(namespace, pod, port, signal));
  }

  podMetrics(namespace: string, pod: string): Promise<PodMetricsJson | undefined> {
    return this.podCall(namespace, pod, (c) => c.podMetrics(namespace, pod));
  }

  /** Every member's list, merged; a member that cannot answer is left out (its pods fall back to the kubelet's figures), unless none can. */
  async managedPodMetrics(): Promise<Map<string, PodMetricsJson>> {
    const lists = await Promise.allSettled(this.clusters.map((c) => c.managedPodMetrics()));
    const got = lists.flatMap((l) => (l.status === 'fulfilled' ? [l.value] : []));
    if (got.length === 0 && lists[0]?.status === 'rejected') throw lists[0].reason;
    return new Map(got.flatMap((m) => [...m]));
  }

  addressesOfNode(name: string): Array<{ type: string; address: string }> | undefined {
    return this.first((c) => c.addressesOfNode(name));
  }

  async kubeletSummary(node: string): Promise<KubeletSummaryJson> {
    const member = this.clusters.find((c) => c.hasNode?.(node));
    if (!member) throw new UnavailableError(`no cluster has a node named ${node}`);
    return member.kubeletSummary(node);
  }

  onChange(listener: (change: ClusterChange) => void): () => void {
    const offs = this.clusters.map((c) => c.onChange(listener));
    return () => offs.forEach((off) => off());
  }

  async apply(objects: KubeManifest[], opts?: WriteOptions): Promise<Array<string | undefined>> {
    const versions: Array<string | undefined> = [];
    for (const obj of objects) {
      const member = this.memberForWrite(obj);
      versions.push(...(await this.writerOf(member).apply([obj], opts)));
    }
    return versions;
  }

  async prune(namespace: string, generation: number, opts?: WriteOptions): Promise<void> {
    await this.writerOf(this.requireMemberOf(namespace, `prune ${namespace}`)).prune(namespace, generation, opts);
  }

  async deleteNamespace(name: string, opts?: WriteOptions): Promise<void> {
    // Never seen in any cluster: nothing to delete.
    const member = this.memberOfNamespace(name);
    if (member) await this.writerOf(member).deleteNamespace(name, opts);
  }

  async deletePod(namespace: string, name: string, opts?: WriteOptions): Promise<void> {
    await this.writerOf(this.requireMemberOf(namespace, `delete pod ${namespace}/${name}`)).deletePod(namespace, name, opts);
  }

  /** Region → the cluster whose nodes carry it; a region found in two clusters is a conflict and routed to neither. */
  regionOwners(): { map: Map<string, ClusterGateway>; conflicts: Map<string, string[]> } {
    if (this.owners && Date.now() - this.owners.at < OWNERS_TTL_MS) return this.owners;
    const map = new Map<string, ClusterGateway>();
    const seen = new Map<string, string[]>();
    for (const c of this.clusters) {
      // A dark member keeps the regions it had (its node cache keeps what it last saw): its orders stay routed to it, and answer 503.
      const regions = c.nodeRegions?.() ?? c.regions();
      if (regions) this.lastOwned.set(c.name, regions);
      const known = regions ?? this.lastOwned.get(c.name) ?? [];
      for (const r of known) seen.set(r, [...(seen.get(r) ?? []), c.name]);
    }
    const conflicts = new Map<string, string[]>();
    for (const [region, names] of seen) {
      if (names.length > 1) conflicts.set(region, names);
      else map.set(region, this.byName.get(names[0]!)!);
    }
    if (conflicts.size && !this.owners?.conflicts.size) {
      this.log?.(`regions found in two clusters are served by neither: ${[...conflicts].map(([r, n]) => `${r} (${n.join(', ')})`).join('; ')}`);
    }
    this.owners = { at: Date.now(), map, conflicts };
    return this.owners;
  }

  private ownerOf(region: string): ClusterGateway | undefined {
    return this.regionOwners().map.get(region);
  }

  private memberOfNamespace(namespace: string): ClusterGateway | undefined {
    const cached = this.clusters.find((c) => c.managedNamespace(namespace));
    if (cached) {
      this.placed.delete(namespace);
      return cached;
    }
    return this.placed.get(namespace);
  }

  private requireMemberOf(namespace: string, what: string): ClusterGateway {
    const member = this.memberOfNamespace(namespace);
    if (!member) throw new UnavailableError(`cannot ${what}: no cluster is known to hold namespace ${namespace} yet`);
    return member;
  }

  /** A Namespace goes to its region's cluster; everything else to its namespace's. */
  private memberForWrite(obj: KubeManifest): ClusterGateway {
    if (obj.kind === 'Namespace') {
      const region = obj.metadata.labels?.[NAMESPACE_REGION_LABEL];
      const owner = region ? this.ownerOf(region) : undefined;
      if (region && !owner) throw new UnavailableError(`no cluster serves region ${region} now; namespace ${obj.metadata.name} is not created`);
      const member = owner ?? this.memberOfNamespace(obj.metadata.name);
      if (!member) throw new UnavailableError(`namespace ${obj.metadata.name} names no region: no cluster to create it in`);
      this.placed.set(obj.metadata.name, member);
      return member;
    }
    const ns = obj.metadata.namespace;
    if (!ns) throw new UnavailableError(`apply ${obj.kind} ${obj.metadata.name}: a cluster-wide object; several clusters need it applied to each by hand`);
    return this.requireMemberOf(ns, `apply ${obj.kind} ${ns}/${obj.metadata.name}`);
  }

  private writerOf(member: ClusterGateway): ClusterWriter {
    return this.writers.get(member.name) ?? member;
  }

  private first<T>(read: (c: ClusterGateway) => T | undefined): T | undefined {
    for (const c of this.clusters) {
      const found = read(c);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** The member whose pod cache holds the pod (else the namespace's): only its API server is asked. */
  private podCall<T>(namespace: string, pod: string, call: (c: ClusterGateway) => Promise<T>): Promise<T> {
    const member = this.clusters.find((c) => c.podsInNamespace(namespace).some((p) => p.metadata.name === pod)) ?? this.memberOfNamespace(namespace);
    if (!member) return Promise.reject(new UnavailableError(`no cluster is known to hold pod ${namespace}/${pod}`));
    return call(member);
  }
}

/** A member's health().reachable && synced, through its cheap check when it has one. */
function canRead(member: ClusterGateway): boolean {
  if (member.canRead) return member.canRead();
  const h = member.health();
  return h.reachable && h.synced;
}
