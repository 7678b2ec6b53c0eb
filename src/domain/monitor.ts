/**
 * `GET /monitor`: what the customer's containers use now. CPU (cores) and memory
 * (bytes, with the limit) per container from the metrics API; network (bytes/s,
 * derived from the kubelet's cumulative counters between two readings) and storage
 * (bytes) from the kubelet's cAdvisor metrics.
 */
import type { ClusterReader, PodJson } from '../cluster/gateway.js';
import type { OrderRecord } from '../store/types.js';
import { InputError } from './errors.js';
import { parseBytes } from './quantity.js';
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

interface NetworkSample {
  at: number;
  rx: number;
  tx: number;
}

export class MonitorService {
  /** Last network counters per pod, to turn cumulative bytes into a rate. */
  private readonly samples = new Map<string, NetworkSample>();

  constructor(
    private readonly cluster: ClusterReader,
    private readonly workloads: WorkloadService,
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
      const kubelet = await this.kubeletUsage(pod, containers);
      if (!kubelet) unavailable.push(...types.filter((t) => t.startsWith('network') || t === 'storage'));
      if (types.includes('networkDownload')) view.networkDownload = { value: kubelet?.rxPerSecond ?? 0 };
      if (types.includes('networkUpload')) view.networkUpload = { value: kubelet?.txPerSecond ?? 0 };
      if (types.includes('storage')) view.storage = { value: kubelet?.storageBytes ?? 0 };
    }
    if (unavailable.length) view.unavailable = unavailable;
    return view;
  }

  /** Network rates and storage from the kubelet; undefined when it cannot be read. */
  private async kubeletUsage(pod: PodJson, containers: string[]): Promise<{ rxPerSecond: number; txPerSecond: number; storageBytes: number } | undefined> {
    const node = pod.spec.nodeName;
    if (!node) return undefined;
    const read = async () => parseCadvisor(await this.cluster.cadvisorMetrics(node), pod.metadata.namespace!, pod.metadata.name, containers);
    try {
      let now = await read();
      const key = pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`;
      let before = this.samples.get(key);
      if (!before || now.at - before.at > 300_000 || now.at - before.at < 500) {
        // No recent reading to compare with: take two, a second apart.
        before = now;
        await this.sleep(1000);
        now = await read();
      }
      this.samples.set(key, { at: now.at, rx: now.rx, tx: now.tx });
      if (this.samples.size > 10_000) this.samples.delete(this.samples.keys().next().value!);
      const seconds = Math.max((now.at - before.at) / 1000, 0.001);
      return {
        rxPerSecond: Math.max(0, Math.round((now.rx - before.rx) / seconds)),
        txPerSecond: Math.max(0, Math.round((now.tx - before.tx) / seconds)),
        storageBytes: now.storage,
      };
    } catch {
      return undefined;
    }
  }
}

/** Sums the pod's network counters and its containers' filesystem usage from cAdvisor's Prometheus text. */
export function parseCadvisor(text: string, namespace: string, pod: string, containers: string[]): NetworkSample & { storage: number } {
  let rx = 0;
  let tx = 0;
  let storage = 0;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (labels.namespace !== namespace || labels.pod !== pod) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    if (m[1] === 'container_network_receive_bytes_total') rx += value;
    else if (m[1] === 'container_network_transmit_bytes_total') tx += value;
    else if (m[1] === 'container_fs_usage_bytes' && (!labels.container || containers.includes(labels.container))) storage += value;
  }
  return { at: Date.now(), rx, tx, storage: Math.round(storage) };
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
