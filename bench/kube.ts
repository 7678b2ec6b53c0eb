/**
 * Talking to kube-apiserver directly, as the baseline V-Kube is compared with: the
 * reads V-Kube would otherwise make per request, creating a Deployment, and a pod
 * watch that notes when each namespace first has a Running pod.
 */
import * as k8s from '@kubernetes/client-node';
import { request as httpsRequest } from 'node:https';
import { type Endpoint, type Tls, call, endpoint, request, withQuery } from './http.js';

export interface PodJson {
  metadata: { name: string; namespace: string; creationTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string };
  spec: { nodeName?: string; containers: Array<{ ports?: Array<{ hostPort?: number; protocol?: string }> }> };
  status?: { phase?: string };
}

interface List<T> {
  metadata: { resourceVersion: string };
  items: T[];
}

export interface KubeAccess {
  server: string;
  tls: Tls;
}

export async function kubeAccess(kubeconfig: string): Promise<KubeAccess> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const opts: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  await kc.applyToHTTPSOptions(opts as never);
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error(`${kubeconfig} names no current cluster`);
  const tls: Tls = {};
  if (opts.ca) tls.ca = opts.ca;
  if (opts.cert) tls.cert = opts.cert;
  if (opts.key) tls.key = opts.key;
  return { server, tls };
}

export function kubeEndpoint(access: KubeAccess, sockets: number): Endpoint {
  return endpoint(access.server, sockets, access.tls);
}

// ---- the direct reads: what V-Kube would do per request without its watch caches ----

/** `GET /k8s/pod/status` without a cache: list the order's pods by label, take the newest. */
export async function directPodStatus(kube: Endpoint, orderId: string): Promise<{ name: string; podStatus: unknown; podSpec: unknown; annotations: Record<string, string> }> {
  const list = await call<List<PodJson>>(kube, 'GET', withQuery(`/api/v1/namespaces/vkube-${orderId}/pods`, { labelSelector: `vkube.dev/order=${orderId}` }));
  if (list.items.length === 0) throw new Error(`no pod for order ${orderId}`);
  const pod = list.items.reduce((a, b) => ((a.metadata.creationTimestamp ?? '') >= (b.metadata.creationTimestamp ?? '') ? a : b));
  return { name: pod.metadata.name, podStatus: pod.status ?? {}, podSpec: pod.spec, annotations: pod.metadata.annotations ?? {} };
}

/**
 * `POST /k8s/checkports` without a cache: the region's nodes by label, then each node's
 * pods by field selector (in parallel over the same connection pool), then the host
 * ports of the pods that still hold them.
 */
export async function directCheckPorts(kube: Endpoint, regionLabel: string, region: string, ports: number[]): Promise<number[]> {
  const nodes = await call<List<{ metadata: { name: string } }>>(kube, 'GET', withQuery('/api/v1/nodes', { labelSelector: `${regionLabel}=${region}` }));
  const taken = new Set<number>();
  await Promise.all(
    nodes.items.map(async (node) => {
      const pods = await call<List<PodJson>>(kube, 'GET', withQuery('/api/v1/pods', { fieldSelector: `spec.nodeName=${node.metadata.name}` }));
      for (const pod of pods.items) {
        if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
        for (const c of pod.spec.containers) for (const p of c.ports ?? []) if (p.hostPort) taken.add(p.hostPort);
      }
    }),
  );
  return ports.filter((p) => taken.has(p));
}

// ---- writes ----

export async function createObject(kube: Endpoint, collection: string, body: unknown): Promise<void> {
  await call(kube, 'POST', collection, { body });
}

export async function deleteNamespace(kube: Endpoint, name: string): Promise<void> {
  const res = await request(kube, 'DELETE', `/api/v1/namespaces/${name}`);
  if (res.status >= 300 && res.status !== 404) throw new Error(`delete namespace ${name}: HTTP ${res.status}`);
}

export async function getJson<T>(kube: Endpoint, path: string): Promise<T> {
  return call<T>(kube, 'GET', path);
}

// ---- the pod watch ----

/**
 * Watches pods (all namespaces, or those a label selector picks) and remembers, per
 * namespace, when it first had a Running pod: the moment a deploy is "Running".
 */
export class PodWatch {
  private readonly phases = new Map<string, string>();
  private readonly firstRunning = new Map<string, number>();
  /** Per namespace: when its first pod was seen at all, and when one was first bound to a node. */
  private readonly firstSeen = new Map<string, number>();
  private readonly firstBound = new Map<string, number>();
  private readonly waiters = new Map<string, Array<(t: number) => void>>();
  private resourceVersion = '';
  private stopped = false;
  private current: ReturnType<typeof httpsRequest> | undefined;
  private loop: Promise<void> | undefined;
  private synced = false;
  private syncWaiters: Array<() => void> = [];

  constructor(
    private readonly access: KubeAccess,
    private readonly labelSelector?: string,
  ) {}

  start(): Promise<void> {
    this.loop = this.run();
    return this.synced ? Promise.resolve() : new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.destroy();
    await this.loop;
  }

  /** How many of `namespaces` have a Running pod now. */
  countRunning(namespaces: ReadonlySet<string>): number {
    const seen = new Set<string>();
    for (const [key, phase] of this.phases) {
      if (phase !== 'Running') continue;
      const ns = key.slice(0, key.indexOf('/'));
      if (namespaces.has(ns)) seen.add(ns);
    }
    return seen.size;
  }

  /** How many pods (in any phase, not yet deleted) `namespaces` hold now. */
  countPods(namespaces: ReadonlySet<string>): number {
    let n = 0;
    for (const key of this.phases.keys()) if (namespaces.has(key.slice(0, key.indexOf('/')))) n++;
    return n;
  }

  /** Waits (up to `maxMs`) until `namespaces` hold no pod; resolves with how many are left. */
  async podsGone(namespaces: ReadonlySet<string>, maxMs: number): Promise<number> {
    const deadline = Date.now() + maxMs;
    while (this.countPods(namespaces) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1000));
    return this.countPods(namespaces);
  }

  /** When `namespace` first had a Running pod (performance.now() of the event). */
  running(namespace: string): Promise<number> {
    const t = this.firstRunning.get(namespace);
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve) => {
      const list = this.waiters.get(namespace) ?? [];
      list.push(resolve);
      this.waiters.set(namespace, list);
    });
  }

  /** When `namespace` first had a pod, and when one was first scheduled (performance.now()). */
  milestones(namespace: string): { created?: number; scheduled?: number } {
    const created = this.firstSeen.get(namespace);
    const scheduled = this.firstBound.get(namespace);
    return { ...(created !== undefined ? { created } : {}), ...(scheduled !== undefined ? { scheduled } : {}) };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.watchOnce();
      } catch (err) {
        if (this.stopped) return;
        if ((err as { gone?: boolean }).gone) this.resourceVersion = '';
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /**
   * One watch request. Without a resourceVersion the server starts with an ADDED event
   * for every existing pod, so the first connection doubles as the initial list.
   */
  private watchOnce(): Promise<void> {
    const url = new URL(this.access.server);
    const path = withQuery('/api/v1/pods', {
      watch: true,
      allowWatchBookmarks: true,
      labelSelector: this.labelSelector,
      resourceVersion: this.resourceVersion || undefined,
      timeoutSeconds: 1800,
    });
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ hostname: url.hostname, port: url.port, path, method: 'GET', ...this.access.tls, agent: false }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(Object.assign(new Error(`watch pods: HTTP ${res.statusCode}`), { gone: res.statusCode === 410 }));
          return;
        }
        // No event for a quiet cluster still means the initial ADDED burst is over.
        const syncTimer = setTimeout(() => this.markSynced(), 1000);
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (line.trim()) this.handle(line);
          }
          syncTimer.refresh();
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
      this.current = req;
      req.on('error', reject);
      req.end();
    });
  }

  private handle(line: string): void {
    const now = performance.now();
    const event = JSON.parse(line) as { type: string; object: PodJson & { code?: number } };
    if (event.type === 'ERROR') {
      if (event.object.code === 410) this.resourceVersion = '';
      this.current?.destroy();
      return;
    }
    const pod = event.object;
    if (pod.metadata.resourceVersion) this.resourceVersion = pod.metadata.resourceVersion;
    if (event.type === 'BOOKMARK') {
      this.markSynced();
      return;
    }
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (event.type === 'DELETED') {
      this.phases.delete(key);
    } else {
      const phase = pod.status?.phase ?? 'Pending';
      this.phases.set(key, phase);
      if (!this.firstSeen.has(pod.metadata.namespace)) this.firstSeen.set(pod.metadata.namespace, now);
      if (pod.spec.nodeName && !this.firstBound.has(pod.metadata.namespace)) this.firstBound.set(pod.metadata.namespace, now);
      if (phase === 'Running' && !this.firstRunning.has(pod.metadata.namespace)) {
        this.firstRunning.set(pod.metadata.namespace, now);
        for (const w of this.waiters.get(pod.metadata.namespace) ?? []) w(now);
        this.waiters.delete(pod.metadata.namespace);
      }
    }
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    for (const w of this.syncWaiters.splice(0)) w();
  }
}
