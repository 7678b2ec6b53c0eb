/**
 * Prometheus metrics at /metrics: request latency by route and status, reconcile
 * passes and errors, the leader's work queue (depth, attempts, retries, writes refused
 * by the Lease fence), watch-cache sizes, connections to the API per budget, whether each
 * source of cluster state is live, host-port leases, open log streams, whether
 * this replica leads, the pod events waiting to be recorded and those dropped, and
 * Node's own process metrics. One registry per app, so tests
 * and several apps in a process never mix their numbers.
 */
import type { FastifyInstance } from 'fastify';
import { timingSafeEqual, createHash } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AuthenticationError } from '../kernel/errors.js';

export interface MetricSources {
  cacheSizes: () => Record<string, number>;
  portLeases: () => Promise<number>;
  logStreams: () => number;
  /** Live sessions by kind (exec, shell, portforward, logs). */
  sessions?: () => Record<string, number>;
  isLeader: () => boolean;
  /** Pod events and restart counts waiting to be written. */
  eventQueue?: () => number;
  queueDepth: () => Promise<number>;
  /** Sockets to the API server per budget (control, watch, stream, lease). */
  connectionBudgets?: () => Array<{ budget: string; max: number; open: number; queued: number }>;
  /** Whether each source of cluster state is live (watch caches, the API heartbeat). */
  clusterSources?: () => Record<string, { live: boolean }>;
  /**
   * Each cluster on its own (one, or several behind this V-Kube): its watch caches,
   * sockets, sources and whether this replica holds its Lease. When given, the per-cluster
   * gauges carry a `cluster` label and are filled from here.
   */
  clusters?: () => Array<{
    name: string;
    cacheSizes: Record<string, number>;
    budgets: Array<{ budget: string; max: number; open: number; queued: number }>;
    sources: Record<string, { live: boolean }>;
    leader: boolean;
  }>;
}

export class VkubeMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'vkube_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'vkube_reconcile_pass_duration_seconds',
    help: 'Duration of one reconcile pass over every live order',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({ name: 'vkube_reconcile_errors_total', help: 'Orders a reconcile pass could not bring in line (retried next pass)', registers: [this.registry] });
  readonly eventRecordsDropped = new Counter({
    name: 'vkube_event_records_dropped_total',
    help: 'Pod events and restart counts not recorded because the write queue was full',
    registers: [this.registry],
  });
  readonly queueAttempts = new Histogram({
    name: 'vkube_work_queue_attempt_duration_seconds',
    help: "Attempts at an order from the leader's work queue, by outcome (done, requeued, failed)",
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers: [this.registry],
  });
  readonly queueRetries = new Counter({ name: 'vkube_work_queue_retries_total', help: 'Failed attempts put back on the work queue with back-off', registers: [this.registry] });
  readonly fencedWrites = new Counter({ name: 'vkube_fenced_writes_refused_total', help: 'Writes to Kubernetes refused because this replica did not (surely) hold the Lease', registers: [this.registry] });

  constructor(sources: MetricSources) {
    collectDefaultMetrics({ register: this.registry, prefix: 'vkube_' });
    new Gauge({
      name: 'vkube_watch_cache_objects',
      help: 'Objects held by each watch cache',
      labelNames: ['cache', 'cluster'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        if (sources.clusters) {
          for (const c of sources.clusters()) for (const [cache, n] of Object.entries(c.cacheSizes)) this.set({ cache, cluster: c.name }, n);
        } else for (const [cache, n] of Object.entries(sources.cacheSizes())) this.set({ cache }, n);
      },
    });
    new Gauge({
      name: 'vkube_port_leases',
      help: 'Host ports leased to orders',
      registers: [this.registry],
      async collect() {
        // A database outage must not fail the whole scrape; NaN says "unknown", and /readyz names the outage.
        this.set(await sources.portLeases().catch(() => NaN));
      },
    });
    new Gauge({
      name: 'vkube_work_queue_depth',
      help: "Orders in the leader's work queue (due, waiting for their back-off, or resyncs paced over the reconcile interval)",
      registers: [this.registry],
      async collect() {
        this.set(await sources.queueDepth().catch(() => NaN));
      },
    });
    new Gauge({
      name: 'vkube_kube_sockets',
      help: 'Connections to the Kubernetes API per budget: open, queued (calls waiting for a socket) and max',
      labelNames: ['budget', 'state', 'cluster'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const each = sources.clusters?.().map((c) => ({ labels: { cluster: c.name }, budgets: c.budgets })) ?? [{ labels: {}, budgets: sources.connectionBudgets?.() ?? [] }];
        for (const { labels, budgets } of each) {
          for (const b of budgets) {
            this.set({ budget: b.budget, state: 'open', ...labels }, b.open);
            this.set({ budget: b.budget, state: 'queued', ...labels }, b.queued);
            this.set({ budget: b.budget, state: 'max', ...labels }, b.max);
          }
        }
      },
    });
    new Gauge({
      name: 'vkube_cluster_source_up',
      help: 'Whether each source of cluster state is live: the watch caches by name, and apiserver (the heartbeat)',
      labelNames: ['source', 'cluster'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        if (sources.clusters) {
          for (const c of sources.clusters()) for (const [source, h] of Object.entries(c.sources)) this.set({ source, cluster: c.name }, h.live ? 1 : 0);
        } else for (const [source, h] of Object.entries(sources.clusterSources?.() ?? {})) this.set({ source }, h.live ? 1 : 0);
      },
    });
    new Gauge({
      name: 'vkube_cluster_leader',
      help: "1 when this replica holds the cluster's reconcile Lease (each cluster has its own) and may write to it",
      labelNames: ['cluster'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const c of sources.clusters?.() ?? []) this.set({ cluster: c.name }, c.leader ? 1 : 0);
      },
    });
    new Gauge({ name: 'vkube_log_streams', help: 'Log streams being served (each holds one upstream request)', registers: [this.registry], collect() { this.set(sources.logStreams()); } });
    new Gauge({
      name: 'vkube_sessions',
      help: 'Live sessions into pods on this replica, by kind: exec (one-shot, running), shell (interactive exec), portforward, logs (followed)',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        for (const [kind, n] of Object.entries(sources.sessions?.() ?? {})) this.set({ kind }, n);
      },
    });
    new Gauge({ name: 'vkube_leader', help: '1 when this replica runs the reconcile loop', registers: [this.registry], collect() { this.set(sources.isLeader() ? 1 : 0); } });
    new Gauge({ name: 'vkube_event_records_queued', help: 'Pod events and restart counts waiting to be written', registers: [this.registry], collect() { this.set(sources.eventQueue?.() ?? 0); } });
  }
}

/** Times every request; serves /metrics (behind a bearer token when one is configured). */
export function registerMetrics(app: FastifyInstance, metrics: VkubeMetrics, token: string | undefined): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  const expected = token ? createHash('sha256').update(token).digest() : undefined;
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['health'], hide: true } }, async (request, reply) => {
    if (expected) {
      const given = request.headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1] ?? '';
      if (!timingSafeEqual(createHash('sha256').update(given).digest(), expected)) throw new AuthenticationError('metrics need Authorization: Bearer <VKUBE_METRICS_TOKEN>');
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
