/**
 * `GET /monitor`: what the customer's containers use now. CPU (cores) and memory
 * (bytes, with the limit) per container from the metrics API; network (bytes/s, the
 * pod's cumulative counters between two kubelet samples) and storage (bytes: the chosen
 * containers' writable layers and logs) from the kubelet's Summary API (pod-usage.ts).
 */
import type { ClusterReader, PodJson } from '../cluster/gateway.js';
import type { OrderRecord } from './records.js';
import { InputError } from '../kernel/errors.js';
import { NetworkRates, podKey, type Rate, readNode } from './pod-usage.js';
import { parseBytes } from '../kernel/quantity.js';
import type { WorkloadService } from './workload.js';

export interface MonitorQuery {
  allTypes: boolean;
  types: string[];
  containers: string[];
  allContainers: boolean;
}

export interface MonitorView {
  cpu?: Record<string, { value: number }>;
  memory?: Record<string, { value: number; limitValue: number }>;
  networkDownload?: { value: number };
  networkUpload?: { value: number };
  storage?: { value: number };
  /** Measurements the cluster could not provide just now (their values are 0). */
  unavailable?: string[];
}

const TYPES = ['cpu', 'memory', 'networkDownload', 'networkUpload', 'storage'] as const;

/** How long a first look at a pod waits for the kubelet's next network sample (it takes one every 10-15 s). */
const FIRST_RATE_WAIT_MS = 16_000;

export class MonitorService {
  constructor(
    private readonly cluster: ClusterReader,
    private readonly workloads: WorkloadService,
    /** Shared with the usage sampler, so on the leader a pod's rate is known at once. */
    private readonly rates: NetworkRates = new NetworkRates(),
    /** The order's network rate the leader's usage sampler stored last, if recent: what any replica answers a first look with. */
    private readonly recentRate: (order: OrderRecord) => Promise<Rate | undefined> = async () => undefined,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async monitor(order: OrderRecord, query: MonitorQuery): Promise<MonitorView> {
    const pod = this.workloads.currentPod(order);
    const names = pod.spec.containers.map((c) => c.name);
    const containers = query.allContainers || query.containers.length === 0 ? names : query.containers;
    for (const c of containers) if (!names.includes(c)) throw new InputError(`no container "${c}" in the pod; it has ${names.join(', ')}`, 'containers');
    const types = query.allTypes || query.types.length === 0 ? [...TYPES] : query.types;
    for (const t of types) if (!(TYPES as readonly string[]).includes(t)) throw new InputError(`unknown type "${t}"; one of ${TYPES.join(', ')}`, 'types');

    const view: MonitorView = {};
    const unavailable: string[] = [];
    if (types.includes('cpu') || types.includes('memory')) {
      const metrics = await this.cluster.podMetrics(pod.metadata.namespace!, pod.metadata.name);
      // The metrics API has no sample for the first 15-30 s of a pod. The original clients
      // print any non-200 as "Net Error", so answer what is known: zeros, named in `unavailable`.
      if (!metrics) unavailable.push(...types.filter((t) => t === 'cpu' || t === 'memory'));
      const usage = new Map((metrics?.containers ?? []).map((c) => [c.name, c.usage]));
      if (types.includes('cpu')) view.cpu = Object.fromEntries(containers.map((c) => [c, { value: cores(usage.get(c)?.cpu) }]));
      if (types.includes('memory')) {
        view.memory = Object.fromEntries(containers.map((c) => [c, { value: parseBytes(usage.get(c)?.memory ?? '0') ?? 0, limitValue: memoryLimit(pod, c) }]));
      }
    }
    if (types.some((t) => t.startsWith('network') || t === 'storage')) {
      const kubelet = await this.kubeletUsage(order, pod, containers);
      if (!kubelet) unavailable.push(...types.filter((t) => t.startsWith('network') || t === 'storage'));
      else if (!kubelet.rate) unavailable.push(...types.filter((t) => t.startsWith('network')));
      if (types.includes('networkDownload')) view.networkDownload = { value: kubelet?.rate?.rx ?? 0 };
      if (types.includes('networkUpload')) view.networkUpload = { value: kubelet?.rate?.tx ?? 0 };
      if (types.includes('storage')) view.storage = { value: kubelet?.storageBytes ?? 0 };
    }
    if (unavailable.length) view.unavailable = unavailable;
    return view;
  }

  /**
   * Network rates and disk use from the kubelet's Summary API; undefined when it cannot
   * be read, `rate` undefined when the kubelet has no network figures for the pod yet.
   */
  private async kubeletUsage(order: OrderRecord, pod: PodJson, containers: string[]): Promise<{ rate: Rate | undefined; storageBytes: number } | undefined> {
    const node = pod.spec.nodeName;
    if (!node) return undefined;
    const key = podKey(pod.metadata.namespace!, pod.metadata.name);
    const id = pod.metadata.uid ?? key;
    const read = async () => (await readNode(this.cluster, node)).get(key);
    try {
      let reading = await read();
      if (!reading) return undefined;
      let rate = reading.network && this.rates.update(id, reading.at, reading.network);
      // No earlier sample of this pod here (on the leader the usage sampler keeps one): the
      // rate the sampler stored last, else wait for the kubelet's next sample (every 10-15 s).
      if (reading.network && !rate) rate = await this.recentRate(order).catch(() => undefined);
      for (let waited = 0; reading?.network && !rate && waited < FIRST_RATE_WAIT_MS; waited += 1000) {
        await this.sleep(1000);
        reading = (await read()) ?? reading;
        rate = reading.network && this.rates.update(id, reading.at, reading.network);
      }
      const storageBytes = containers.reduce((sum, c) => sum + (reading.disk[c] ?? 0), 0);
      return { rate, storageBytes };
    } catch {
      return undefined;
    }
  }
}

/** `250006064n` → 0.250006064 cores. */
export function cores(quantity: string | undefined): number {
  if (!quantity) return 0;
  const m = /^(\d+(?:\.\d+)?)(n|u|m)?$/.exec(quantity);
  if (!m) return 0;
  const scale = { n: 1e-9, u: 1e-6, m: 1e-3 }[m[2] as 'n' | 'u' | 'm'] ?? 1;
  return Number((Number(m[1]) * scale).toFixed(6));
}

function memoryLimit(pod: PodJson, container: string): number {
  const c = pod.spec.containers.find((x) => x.name === container) as { resources?: { limits?: { memory?: string } } } | undefined;
  return parseBytes(c?.resources?.limits?.memory ?? '0') ?? 0;
}
