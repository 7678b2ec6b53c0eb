/**
 * Deploy-to-Running, through V-Kube and directly, interleaved one by one so both sides
 * see the same cluster:
 *
 * - V-Kube: `POST /api/v1/k8s/deploy` for a fresh order, then
 *   `GET /k8s/pod/status?wait=Running&timeout=30`, which V-Kube answers from its pod watch
 *   the moment the pod is Running (no polling; the bench's own watch's view is kept too);
 * - direct: create a namespace and the equivalent Deployment (V-Kube's own, copied from
 *   the cluster, relabelled, with its own host port) in kube-apiserver, and wait for the
 *   pod watch to report its pod Running;
 * - direct, isolated: only the Deployment is timed, in a namespace made beforehand as
 *   V-Kube makes an order's at sale — labelled as V-Kube's (so the cluster's admission
 *   policies for tenant namespaces check its Deployment, ReplicaSet and Pod as they check
 *   V-Kube's), holding the same ResourceQuota, LimitRange and NetworkPolicy, the quota's
 *   usage already counted. Not a target: V-Kube against it is V-Kube's own overhead;
 *   it against direct is what the isolation costs Kubernetes per pod.
 *
 * Afterwards the V-Kube orders are aborted and the direct namespaces deleted, so the
 * population stays what the scale says.
 */
import { type Endpoint, request } from './http.js';
import { type KubeAccess, type PodWatch, createObject, deleteNamespace, getJson, kubeEndpoint } from './kube.js';
import { monoUs } from './load.js';
import { CpuMeter } from './proc.js';
import { median, percentile, round } from './stats.js';
import { type Order, type Vkube, abortOrder, createOrder, deployBody } from './vkube.js';

export interface DeploySample {
  /** VKube: until the deploy call answered. Direct: until both creates answered. */
  acceptedMs: number;
  /** Until the pod was seen Running: V-Kube by its status route's wait (`?wait=Running`); direct by the watch. */
  runningMs: number;
  /** Until the pod watch saw it Running (both sides, same yardstick). */
  watchMs: number;
  /** Until the pod watch first saw the pod (created by the ReplicaSet controller), and bound to a node. */
  podCreatedMs?: number;
  podScheduledMs?: number;
  /** CPU each process used from the deploy's start until it was seen Running, ms (10 ms ticks). */
  cpuMs?: Record<string, number>;
}

export interface DeploySide {
  samples: DeploySample[];
  acceptedMedianMs: number;
  runningMedianMs: number;
  /** Nearest-rank p99 of Running (as measured): with 20 samples, the slowest. */
  runningP99Ms: number;
  watchMedianMs: number;
  podCreatedMedianMs: number;
  podScheduledMedianMs: number;
  /**
   * Mean CPU per deploy, from its start until Running, ms per process (`load generator`:
   * the bench; `other`: the rest of the machine). A mean, not a median: /proc counts in
   * 10 ms ticks, so one deploy reads 0, 10 or 20 ms, and only many average out.
   */
  cpuMsMean: Record<string, number>;
}

export interface DeployRound {
  atPods: number;
  /** The region deployed to; on the real node (`real`) containers really start. */
  region: string;
  real: boolean;
  vkube: DeploySide;
  direct: DeploySide;
  directIsolated: DeploySide;
  /** V-Kube's median deploy-to-Running (polled) over the direct one (watched). */
  ratio: number;
  /** The round on the monotonic clock (µs), to cut a CPU profile to it. */
  window: { monoStartUs: number; monoEndUs: number };
}

interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
}

/** The longest a round waits for its pods to be gone afterwards. */
const POD_TEARDOWN_MAX_MS = 180_000;

/** What V-Kube put in one order's namespace, as templates for the direct creates. */
interface Templates {
  deployment: DeploymentJson;
  /** ResourceQuota, LimitRange, NetworkPolicy: collection path and object. */
  isolation: Array<{ collection: (ns: string) => string; object: KubeObject }>;
}

interface DeploymentJson {
  metadata: { annotations?: Record<string, string> };
  spec: {
    selector: unknown;
    template: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: { containers: Array<{ ports?: Array<{ hostPort?: number }> }> } };
  } & Record<string, unknown>;
}

const POLL_MS = 10;

export async function measureDeploys(opts: {
  vk: Vkube;
  kube: KubeAccess;
  watch: PodWatch;
  /** An order V-Kube already runs: its Deployment is the template of the direct one. */
  templateOrder: Order;
  atPods: number;
  count: number;
  round: number;
  region: string;
  image: string;
  /** Deploys go to the real node: its containers really start (the image is already pulled). */
  real?: boolean;
  /** The processes whose CPU each deploy is charged with (V-Kube's and the control plane's). */
  pids: Record<string, number>;
  log: (line: string) => void;
}): Promise<DeployRound> {
  const { vk, watch } = opts;
  const kube = kubeEndpoint(opts.kube, 8);
  const templates = await readTemplates(kube, opts.templateOrder.namespace);
  // Host ports below the ephemeral range's busy end; on the real node they bind on its address only.
  const portBase = 40000 + opts.round * 200;
  const orders: Order[] = [];
  for (let i = 0; i < opts.count; i++) orders.push(await createOrder(vk, opts.region, portBase + i));
  // Orders are sold before they are deployed: V-Kube provisions each one's namespace and
  // isolation objects then, and the deploys are timed after that, as a customer meets them.
  await provisioned(kube, orders);
  // The isolated direct namespaces are made now too, outside the timed window, as the orders' were.
  const isolatedNamespaces = Array.from({ length: opts.count }, (_, i) => `bench-direct-isolated-${opts.round}-${i}`);
  for (const ns of isolatedNamespaces) await prepareIsolated(kube, templates, ns);
  await quotasCounted(kube, isolatedNamespaces);

  const monoStartUs = monoUs();
  const vkSamples: DeploySample[] = [];
  const directSamples: DeploySample[] = [];
  const isolatedSamples: DeploySample[] = [];
  const directNamespaces: string[] = [...isolatedNamespaces];
  const metered = async (deploy: () => Promise<DeploySample>): Promise<DeploySample> => {
    const meter = new CpuMeter(opts.pids);
    const sample = await deploy();
    const cpuMs = Object.fromEntries(Object.entries(meter.usedSeconds()).map(([name, s]) => [name, s * 1000]));
    await pause();
    return { ...sample, cpuMs };
  };
  for (let i = 0; i < opts.count; i++) {
    vkSamples.push(await metered(() => viaVkube(vk, watch, orders[i]!, opts.region, opts.image)));
    const ns = `bench-direct-${opts.round}-${i}`;
    directNamespaces.push(ns);
    directSamples.push(await metered(() => direct(kube, watch, templates.deployment, ns, portBase + 100 + i, { createNamespace: true })));
    isolatedSamples.push(await metered(() => direct(kube, watch, templates.deployment, isolatedNamespaces[i]!, portBase + 150 + i, { createNamespace: false })));
    opts.log(
      `    deploy ${i + 1}/${opts.count}: V-Kube ${Math.round(vkSamples[i]!.runningMs)} ms (accepted ${Math.round(vkSamples[i]!.acceptedMs)} ms), ` +
        `direct ${Math.round(directSamples[i]!.runningMs)} ms, direct into an isolated namespace ${Math.round(isolatedSamples[i]!.runningMs)} ms`,
    );
  }

  const monoEndUs = monoUs();
  // Put the population back as it was, and wait for the pods to be gone: on the real node
  // stopping 60 containers keeps the kubelet, containerd and the controllers busy for a
  // minute or more, which the next reads would be charged with.
  for (const o of orders) await abortOrder(vk, o);
  for (const ns of directNamespaces) await deleteNamespace(kube, ns);
  kube.agent.destroy();
  const waitedFrom = Date.now();
  const left = await watch.podsGone(new Set([...orders.map((o) => o.namespace), ...directNamespaces]), POD_TEARDOWN_MAX_MS);
  opts.log(`    the round's pods ${left ? `still ${left} after ${POD_TEARDOWN_MAX_MS / 1000} s` : `gone in ${((Date.now() - waitedFrom) / 1000).toFixed(1)} s`}`);

  const side = (samples: DeploySample[]): DeploySide => ({
    samples: samples.map((s) => ({
      acceptedMs: round(s.acceptedMs),
      runningMs: round(s.runningMs),
      watchMs: round(s.watchMs),
      ...(s.podCreatedMs !== undefined ? { podCreatedMs: round(s.podCreatedMs) } : {}),
      ...(s.podScheduledMs !== undefined ? { podScheduledMs: round(s.podScheduledMs) } : {}),
    })),
    acceptedMedianMs: round(median(samples.map((s) => s.acceptedMs))),
    runningMedianMs: round(median(samples.map((s) => s.runningMs))),
    runningP99Ms: round(percentile(Float64Array.from(samples.map((s) => s.runningMs)).sort(), 99)),
    watchMedianMs: round(median(samples.map((s) => s.watchMs))),
    podCreatedMedianMs: round(median(samples.map((s) => s.podCreatedMs ?? NaN).filter(Number.isFinite))),
    podScheduledMedianMs: round(median(samples.map((s) => s.podScheduledMs ?? NaN).filter(Number.isFinite))),
    cpuMsMean: meanCpu(samples),
  });
  const v = side(vkSamples);
  const d = side(directSamples);
  return {
    atPods: opts.atPods,
    region: opts.region,
    real: opts.real ?? false,
    vkube: v,
    direct: d,
    directIsolated: side(isolatedSamples),
    ratio: round(v.runningMedianMs / d.runningMedianMs),
    window: { monoStartUs, monoEndUs },
  };
}

async function viaVkube(vk: Vkube, watch: PodWatch, order: Order, region: string, image: string): Promise<DeploySample> {
  const seen = watch.running(order.namespace);
  const t0 = performance.now();
  const res = await request(vk.control, 'POST', '/api/v1/k8s/deploy', { headers: { secret: order.secret }, body: deployBody(region, image, order.hostPort), timeoutMs: 120_000 });
  const accepted = performance.now();
  if (res.status !== 200) throw new Error(`deploy: HTTP ${res.status} ${res.body.toString().slice(0, 300)}`);
  const deadline = t0 + 120_000;
  for (;;) {
    const asked = performance.now();
    const st = await request(vk.control, 'GET', '/api/v1/k8s/pod/status?wait=Running&timeout=30', { headers: { secret: order.secret }, timeoutMs: 40_000 });
    if (st.status === 200 && st.json<{ podStatus?: { phase?: string } }>().podStatus?.phase === 'Running') break;
    if (performance.now() > deadline) throw new Error(`the pod of order ${order.id} was not Running within 120 s`);
    // An answer that came at once (no pod yet, V-Kube briefly unavailable, a V-Kube without `wait`) is not repeated in a tight loop.
    if (performance.now() - asked < POLL_MS) await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const running = performance.now();
  const watched = await seen;
  return { acceptedMs: accepted - t0, runningMs: running - t0, watchMs: watched - t0, ...milestones(watch, order.namespace, t0) };
}

async function readTemplates(kube: Endpoint, ns: string): Promise<Templates> {
  const deployment = await getJson<DeploymentJson>(kube, `/apis/apps/v1/namespaces/${ns}/deployments/workload`);
  const isolation: Templates['isolation'] = [];
  for (const [collection, name] of [
    [(n: string) => `/api/v1/namespaces/${n}/resourcequotas`, 'order-quota'],
    [(n: string) => `/api/v1/namespaces/${n}/limitranges`, 'order-limits'],
    [(n: string) => `/apis/networking.k8s.io/v1/namespaces/${n}/networkpolicies`, 'order-isolation'],
  ] as const) {
    // Not there (yet), or not readable this instant: the loop polls again.
    const obj = await getJson<KubeObject>(kube, `${collection(ns)}/${name}`).catch(() => undefined);
    if (obj) isolation.push({ collection, object: { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name }, spec: obj.spec } });
  }
  return { deployment, isolation };
}

/** The bench's labels on a direct namespace and its objects: V-Kube's reconciler leaves them alone. */
function benchLabels(ns: string): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': 'vkube-bench', 'vkube-bench/namespace': ns };
}

/**
 * A namespace as V-Kube makes an order's at sale: V-Kube's managed-by label, which the
 * admission policies for tenant namespaces select on (no order or installation label, so
 * V-Kube's reconciler leaves it alone), and the isolation objects of V-Kube's order.
 */
async function prepareIsolated(kube: Endpoint, templates: Templates, ns: string): Promise<void> {
  const labels = benchLabels(ns);
  await createObject(kube, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { ...labels, 'app.kubernetes.io/managed-by': 'vkube' } } });
  await Promise.all(templates.isolation.map((b) => createObject(kube, b.collection(ns), { ...b.object, metadata: { ...b.object.metadata, labels } })));
}

/**
 * Waits (up to 60 s) until the quota controller has counted each namespace's usage: until
 * then the quota admission of a pod has no usage to add to. An order's quota, made at
 * sale, has long been counted when it is deployed.
 */
function quotasCounted(kube: Endpoint, namespaces: string[]): Promise<void> {
  return pollEach<{ status?: { used?: Record<string, string> } }>(
    kube,
    namespaces.map((ns) => `/api/v1/namespaces/${ns}/resourcequotas/order-quota`),
    (quota) => !quota || quota.status?.used !== undefined,
  );
}

/** Creates the Deployment (and, with `createNamespace`, its namespace first), timed to its pod Running in the watch. */
async function direct(kube: Endpoint, watch: PodWatch, template: DeploymentJson, ns: string, hostPort: number, opts: { createNamespace: boolean }): Promise<DeploySample> {
  const labels = benchLabels(ns);
  const spec = structuredClone(template.spec);
  spec.selector = { matchLabels: labels };
  spec.template.metadata.labels = labels;
  for (const c of spec.template.spec.containers) for (const p of c.ports ?? []) if (p.hostPort) p.hostPort = hostPort;
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'workload', namespace: ns, labels, annotations: template.metadata.annotations ?? {} }, spec };

  const seen = watch.running(ns);
  const t0 = performance.now();
  if (opts.createNamespace) await createObject(kube, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } });
  await createObject(kube, `/apis/apps/v1/namespaces/${ns}/deployments`, deployment);
  const accepted = performance.now();
  const watched = await withTimeout(seen, 120_000, `the direct deployment in ${ns} was not Running within 120 s`);
  return { acceptedMs: accepted - t0, runningMs: watched - t0, watchMs: watched - t0, ...milestones(watch, ns, t0) };
}

/** Waits (up to 60 s) until every order's namespace holds its NetworkPolicy, the last of what V-Kube provisions at sale. */
function provisioned(kube: Endpoint, orders: Order[]): Promise<void> {
  return pollEach(
    kube,
    orders.map((o) => `/apis/networking.k8s.io/v1/namespaces/${o.namespace}/networkpolicies/order-isolation`),
    (policy) => policy !== undefined,
  );
}

/** Reads each path every 100 ms until `ready` accepts the answer (undefined: not readable), 60 s at most for them all. */
async function pollEach<T>(kube: Endpoint, paths: string[], ready: (answer: T | undefined) => boolean): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (const path of paths) {
    for (;;) {
      const answer = await getJson<T>(kube, path).catch(() => undefined);
      if (ready(answer) || performance.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function milestones(watch: PodWatch, ns: string, t0: number): Pick<DeploySample, 'podCreatedMs' | 'podScheduledMs'> {
  const m = watch.milestones(ns);
  return { ...(m.created !== undefined ? { podCreatedMs: m.created - t0 } : {}), ...(m.scheduled !== undefined ? { podScheduledMs: m.scheduled - t0 } : {}) };
}

/**
 * A side's CPU per deploy in all (ms), and how many cores that kept busy until Running;
 * undefined for a report written before CPU was measured.
 */
export function cpuPerDeploy(side: DeploySide): { totalMs: number; cores: number } | undefined {
  const perProcess = Object.values(side.cpuMsMean ?? {});
  if (!perProcess.length || !side.samples.length) return undefined;
  const totalMs = perProcess.reduce((a, b) => a + b, 0);
  const meanRunningMs = side.samples.reduce((a, x) => a + x.runningMs, 0) / side.samples.length;
  return { totalMs, cores: totalMs / meanRunningMs };
}

function meanCpu(samples: DeploySample[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const s of samples) for (const [name, ms] of Object.entries(s.cpuMs ?? {})) sums[name] = (sums[name] ?? 0) + ms;
  return Object.fromEntries(Object.entries(sums).map(([name, sum]) => [name, round(sum / samples.length)]));
}

function pause(): Promise<void> {
  return new Promise((r) => setTimeout(r, 300));
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}
