/**
 * A pod's network and disk figures from the kubelet: the one reader that `/monitor` and
 * the usage history share.
 *
 * Source: the kubelet's Summary API (`/stats/summary`, one read per node for all its
 * pods). No cAdvisor fallback: the kubelet fills the summary's pod network from the same
 * cAdvisor (or, with PodAndContainerStatsFromCRI, from the runtime), so a node whose
 * `/metrics/cadvisor` has per-pod lines has them in its summary too; the summary also
 * carries each container's disk use, and is JSON rather than Prometheus text.
 *
 * The kubelet refreshes these counters every 10-15 s (cAdvisor's housekeeping), and says
 * when in `network.time`: rates are taken between two readings of different sample times,
 * over the time between those samples, not between the moments V-Kube asked.
 */
import type { ClusterReader, KubeletSummaryJson } from '../cluster/gateway.js';

/** One pod's kubelet figures at one sample. */
export interface PodReading {
  uid: string | undefined;
  /** When the kubelet took the network sample (ms since the epoch); when V-Kube read it if it did not say. */
  at: number;
  /** Bytes received and sent on all the pod's interfaces since it started; undefined when the kubelet has no network figures for it. */
  network: { rx: number; tx: number } | undefined;
  /** Per container: bytes on the node's disk (its writable layer and its logs). */
  disk: Record<string, number>;
  /**
   * Per container, when the kubelet has them: CPU in cores and the working-set memory in
   * bytes — the figures metrics-server itself scrapes from this kubelet, read here without
   * waiting for its next scrape.
   */
  usage: Record<string, { cpu: number | undefined; memory: number | undefined }>;
}

/** Every pod of one node, keyed `namespace/name`. */
export type NodeReadings = Map<string, PodReading>;

export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);

/** The pods of one Summary API answer; pods without a name are left out, odd numbers count as missing. */
export function parseSummary(summary: KubeletSummaryJson, readAt: number): NodeReadings {
  const out: NodeReadings = new Map();
  for (const pod of Array.isArray(summary?.pods) ? summary.pods : []) {
    const ns = pod?.podRef?.namespace;
    const name = pod?.podRef?.name;
    if (typeof ns !== 'string' || typeof name !== 'string') continue;
    const net = pod.network;
    let network: PodReading['network'];
    // `interfaces` lists every interface; the top-level figures are the default one's only.
    const ifaces = Array.isArray(net?.interfaces) ? net.interfaces : [];
    if (ifaces.length) {
      network = { rx: 0, tx: 0 };
      for (const i of ifaces) {
        network.rx += num(i?.rxBytes) ?? 0;
        network.tx += num(i?.txBytes) ?? 0;
      }
    } else if (num(net?.rxBytes) !== undefined || num(net?.txBytes) !== undefined) {
      network = { rx: num(net?.rxBytes) ?? 0, tx: num(net?.txBytes) ?? 0 };
    }
    const sampled = net?.time ? Date.parse(net.time) : NaN;
    const disk: Record<string, number> = {};
    const usage: PodReading['usage'] = {};
    for (const c of Array.isArray(pod.containers) ? pod.containers : []) {
      if (typeof c?.name !== 'string') continue;
      disk[c.name] = (num(c.rootfs?.usedBytes) ?? 0) + (num(c.logs?.usedBytes) ?? 0);
      const nanoCores = num(c.cpu?.usageNanoCores);
      const memory = num(c.memory?.workingSetBytes);
      if (nanoCores !== undefined || memory !== undefined) usage[c.name] = { cpu: nanoCores === undefined ? undefined : nanoCores / 1e9, memory };
    }
    out.set(podKey(ns, name), { uid: pod.podRef?.uid, at: Number.isFinite(sampled) ? sampled : readAt, network, disk, usage });
  }
  return out;
}

/** Reads one node's Summary API; rejects (UnavailableError, …) when the kubelet cannot be reached. */
export async function readNode(cluster: Pick<ClusterReader, 'kubeletSummary'>, node: string, now: () => number = Date.now): Promise<NodeReadings> {
  const summary = await cluster.kubeletSummary(node);
  return parseSummary(summary, now());
}

export interface Rate {
  rx: number;
  tx: number;
}

/** Readings further apart than this give no rate: an average over more would not be "now". */
const MAX_GAP_MS = 300_000;
const MAX_PODS = 10_000;

/**
 * Turns cumulative counters into bytes per second, per pod: the rate between the last two
 * readings with different sample times. A reading of the same sample again answers the
 * rate found for it. Bounded: past 10 000 pods, the one seen first is forgotten (the usage
 * history's `retain` forgets, every tick, the pods that are gone).
 */
export class NetworkRates {
  private readonly last = new Map<string, { at: number; rx: number; tx: number; rate: Rate | undefined }>();

  /** The pod's rate as of this reading; undefined until two samples are known. */
  update(id: string, at: number, counters: { rx: number; tx: number }): Rate | undefined {
    const before = this.last.get(id);
    // The same sample again (the kubelet has not refreshed yet), or an older one: nothing new.
    if (before && at <= before.at) return before.rate;
    let rate: Rate | undefined;
    // Counters only grow within one pod; a smaller one means a reset: start again.
    if (before && at - before.at <= MAX_GAP_MS && counters.rx >= before.rx && counters.tx >= before.tx) {
      const seconds = (at - before.at) / 1000;
      rate = { rx: Math.round((counters.rx - before.rx) / seconds), tx: Math.round((counters.tx - before.tx) / seconds) };
    }
    if (before) {
      // Updated in place: a delete and a set per reading (5,000 per usage tick at 5,000 pods)
      // made V8 copy the Map's table again and again (kernel/lru-map.ts).
      before.at = at;
      before.rx = counters.rx;
      before.tx = counters.tx;
      before.rate = rate;
    } else {
      this.last.set(id, { at, rx: counters.rx, tx: counters.tx, rate });
      if (this.last.size > MAX_PODS) this.last.delete(this.last.keys().next().value!);
    }
    return rate;
  }

  /** Forgets pods not in `keep` (they stopped or moved). */
  retain(keep: Set<string>): void {
    for (const id of this.last.keys()) if (!keep.has(id)) this.last.delete(id);
  }
}
