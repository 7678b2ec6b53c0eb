/**
 * Usage history for the customer's graphs (`GET /k8s/monitor/history`). The reconcile
 * leader samples every running order's pod every `VKUBE_USAGE_INTERVAL_SECONDS` (≤ 30 s):
 * CPU and memory per container from the metrics API (the kubelet's Summary API when the
 * metrics API has no figure yet), the pod's network rates from the Summary API
 * (pod-usage.ts) — the readings `/monitor` uses. A tick reads the metrics API once per
 * cluster (a label-selected LIST) and each node's Summary once: never per pod, so a
 * tick over 5,000 orders costs the API servers some fifty reads, not 5,000.
 * Samples go to the database and are deleted after
 * `VKUBE_USAGE_RETENTION_HOURS` (24 h), so every replica answers the same history, only
 * one replica loads the metrics API, and a new leader carries on the same series.
 * Bound: retention / interval samples per running order (2 880 a day at 30 s), one
 * row each.
 */
import type { ClusterReader, PodJson, PodMetricsJson } from '../cluster/gateway.js';
import type { UsageStore } from './store-port.js';
import type { OrderRecord } from './records.js';
import type { Clock } from '../kernel/clock.js';
import type { DeploySpec } from './deploy-spec.js';
import { InputError } from '../kernel/errors.js';
import { ORDER_LABEL } from './manifests.js';
import { cores } from './monitor.js';
import { NetworkRates, type NodeReadings, podKey, type Rate, readNode } from './pod-usage.js';
import { parseBytes } from '../kernel/quantity.js';
import { TimeSlice } from '../kernel/time-slice.js';

/** One sample of one order, as stored. */
export interface UsageSample {
  /** Per container: CPU in cores and memory in bytes; null when the metrics API had no figure. */
  containers: Record<string, { cpu: number | null; memory: number | null }>;
  /** The pod's network, bytes per second since the previous sample; null when not known. */
  rx: number | null;
  tx: number | null;
}

export type Point = [number, number];

export interface UsageHistoryView {
  minutes: number;
  intervalSeconds: number;
  retentionHours: number;
  /** Unix seconds: the window asked for. */
  from: number;
  to: number;
  containers: Array<{
    name: string;
    /** What the container may use: CPU in cores, memory in bytes (its limits). */
    limits: { cpu: number; memory: number };
    cpu: Point[];
    memory: Point[];
  }>;
  network: { download: Point[]; upload: Point[] };
}

export interface UsageHistoryDeps {
  cluster: Pick<ClusterReader, 'managedNamespaces' | 'podsInNamespace' | 'managedPodMetrics' | 'kubeletSummary'>;
  /** Network counters per pod, shared with `/monitor` (pod-usage.ts). */
  rates?: NetworkRates;
  usage: UsageStore;
  clock: Clock;
  intervalSeconds: number;
  retentionHours: number;
  log: { warn(obj: object, msg: string): void };
}

const PRUNE_EVERY_SECONDS = 600;
/** The longest a tick holds the event loop before it lets requests in. */
const TICK_SLICE_MS = 5;

export class UsageHistoryService {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private lastPrune = 0;

  private readonly rates: NetworkRates;

  constructor(private readonly deps: UsageHistoryDeps) {
    this.rates = deps.rates ?? new NetworkRates();
  }

  /** Samples on the leader until stop(); a tick that overruns delays the next, never overlaps it. */
  start(): void {
    if (this.timer) return;
    const schedule = () => {
      this.timer = setTimeout(() => {
        this.running = this.sampleOnce()
          .catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message }, 'could not sample usage; trying again at the next tick'))
          .finally(() => {
            this.running = undefined;
            if (this.timer) schedule();
          });
      }, this.deps.intervalSeconds * 1000);
      this.timer.unref();
    };
    schedule();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Takes one sample of every running order's pod and stores it; returns how many orders were sampled. */
  async sampleOnce(): Promise<number> {
    const now = this.deps.clock.now();
    const pods = this.runningPods();
    const [readings, metrics] = await Promise.all([
      this.readingsByPod([...new Set(pods.map((p) => p.pod.spec.nodeName!))]),
      // Unreadable (no metrics-server, say): the kubelet's figures stand in, as for a pod not scraped yet.
      this.deps.cluster.managedPodMetrics().catch(() => new Map<string, PodMetricsJson>()),
    ]);
    const rows: Array<{ orderId: string; at: number; sample: UsageSample }> = [];
    const seen = new Set<string>();
    // Some 20 ms of the event loop at 5,000 pods on a busy machine: in slices, so requests get in.
    const slice = new TimeSlice(TICK_SLICE_MS);
    for (const { orderId, pod } of pods) {
      if (slice.spent()) await slice.yield();
      const key = podKey(pod.metadata.namespace!, pod.metadata.name);
      const usage = new Map((metrics.get(key)?.containers ?? []).map((c) => [c.name, c.usage]));
      const reading = readings.get(key);
      // The metrics API first (what `/monitor` shows); the kubelet's own figure when
      // metrics-server has not scraped the pod yet, or cannot (a busy node): the same
      // numbers, one scrape sooner, so a new pod's graph starts at once.
      const containers = Object.fromEntries(
        pod.spec.containers.map((c) => {
          const u = usage.get(c.name);
          const k = reading?.usage[c.name];
          const cpu = u?.cpu ? cores(u.cpu) : (k?.cpu ?? null);
          const memory = (u?.memory ? parseBytes(u.memory) : undefined) ?? k?.memory ?? null;
          return [c.name, { cpu, memory }];
        }),
      );
      const uid = pod.metadata.uid ?? key;
      seen.add(uid);
      const rate = reading?.network && this.rates.update(uid, reading.at, reading.network);
      rows.push({ orderId, at: now, sample: { containers, rx: rate?.rx ?? null, tx: rate?.tx ?? null } });
    }
    this.rates.retain(seen);
    if (rows.length) await this.deps.usage.recordUsage(rows);
    if (now - this.lastPrune >= PRUNE_EVERY_SECONDS) {
      await this.deps.usage.pruneUsage(now - this.deps.retentionHours * 3600);
      this.lastPrune = now;
    }
    return rows.length;
  }

  /** The order's network rate in its latest stored sample, when that is at most two intervals old. */
  async latestRate(orderId: string): Promise<Rate | undefined> {
    const rows = await this.deps.usage.usageSince(orderId, this.deps.clock.now() - 2 * this.deps.intervalSeconds);
    for (const r of rows.reverse()) {
      const s = r.sample as UsageSample;
      if (typeof s.rx === 'number' && typeof s.tx === 'number') return { rx: s.rx, tx: s.tx };
    }
    return undefined;
  }

  /** `GET /k8s/monitor/history?minutes=60`: the order's series over the last `minutes`, with its limits. */
  async history(order: OrderRecord, query: unknown): Promise<UsageHistoryView> {
    const maxMinutes = this.deps.retentionHours * 60;
    const minutes = parseMinutes(query, maxMinutes);
    const to = this.deps.clock.now();
    const from = to - minutes * 60;
    const rows = await this.deps.usage.usageSince(order.id, from);
    const spec = order.spec as DeploySpec | null;
    const names = new Set<string>(spec?.containers.map((c) => c.name) ?? []);
    for (const r of rows) for (const name of Object.keys((r.sample as UsageSample).containers ?? {})) names.add(name);
    const containers = [...names].map((name) => {
      const c = spec?.containers.find((x) => x.name === name);
      const cpu: Point[] = [];
      const memory: Point[] = [];
      for (const r of rows) {
        const v = (r.sample as UsageSample).containers?.[name];
        if (v?.cpu !== null && v?.cpu !== undefined) cpu.push([r.at, v.cpu]);
        if (v?.memory !== null && v?.memory !== undefined) memory.push([r.at, v.memory]);
      }
      return { name, limits: { cpu: c ? c.cpuMillis / 1000 : 0, memory: c?.memoryBytes ?? 0 }, cpu, memory };
    });
    const download: Point[] = [];
    const upload: Point[] = [];
    for (const r of rows) {
      const s = r.sample as UsageSample;
      if (typeof s.rx === 'number') download.push([r.at, s.rx]);
      if (typeof s.tx === 'number') upload.push([r.at, s.tx]);
    }
    return { minutes, intervalSeconds: this.deps.intervalSeconds, retentionHours: this.deps.retentionHours, from, to, containers, network: { download, upload } };
  }

  /** Each order's live, running pod (the newest while a replacement briefly runs two). */
  private runningPods(): Array<{ orderId: string; pod: PodJson }> {
    const out = new Map<string, PodJson>();
    for (const ns of this.deps.cluster.managedNamespaces()) {
      for (const pod of this.deps.cluster.podsInNamespace(ns.metadata.name)) {
        const orderId = pod.metadata.labels?.[ORDER_LABEL];
        if (!orderId || pod.status?.phase !== 'Running' || !pod.spec.nodeName || pod.metadata.deletionTimestamp) continue;
        const other = out.get(orderId);
        if (!other || (pod.metadata.creationTimestamp ?? '') > (other.metadata.creationTimestamp ?? '')) out.set(orderId, pod);
      }
    }
    return [...out].map(([orderId, pod]) => ({ orderId, pod }));
  }

  /** Every pod's kubelet reading on these nodes, one Summary API read per node; nodes that cannot be read are left out. */
  private async readingsByPod(nodes: string[]): Promise<NodeReadings> {
    const out: NodeReadings = new Map();
    await Promise.all(
      nodes.map(async (node) => {
        const readings = await readNode(this.deps.cluster, node).catch(() => undefined);
        for (const [key, r] of readings ?? []) out.set(key, r);
      }),
    );
    return out;
  }
}

function parseMinutes(query: unknown, max: number): number {
  const raw = (query as Record<string, unknown> | undefined)?.minutes;
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (text === undefined || text === '') return Math.min(60, max);
  const s = String(text);
  if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > max) throw new InputError(`must be a whole number of minutes from 1 to ${max} (samples are kept ${max / 60} h), not "${s.slice(0, 20)}"`, 'minutes');
  return Number(s);
}
