/**
 * Keeps what happened to each order's pods — Kubernetes events and container restart
 * counts — in the database as the watches report it, so a customer still sees why its
 * container restarted after Kubernetes dropped the event (after an hour) or replaced
 * the pod. Recording is best effort: a failed write is logged, never fatal.
 */
import type { ClusterChange, ClusterReader, EventJson, PodJson } from '../cluster/gateway.js';
import type { EventStore } from '../store/types.js';
import { ORDER_LABEL } from './manifests.js';

const KEEP_EVENTS_PER_ORDER = 500;
const NAMESPACE_PREFIX = 'vkube-';

export class EventRecorder {
  private unsubscribe: (() => void) | undefined;
  private pending = new Set<Promise<void>>();
  private writes = 0;

  constructor(
    private readonly cluster: ClusterReader,
    private readonly events: EventStore,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {}

  start(): void {
    this.unsubscribe = this.cluster.onChange((change) => this.track(this.record(change)));
  }

  /** Stops listening and waits for the writes already started. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    await Promise.allSettled([...this.pending]);
  }

  /** Resolves when every write started so far has finished (tests). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<void>): void {
    const tracked = p
      .catch((err: unknown) => {
        // A namespace of another V-Kube sharing the cluster: its order is not in our database.
        if (/^(SQLITE_CONSTRAINT_FOREIGNKEY|23503)$/.test(String((err as { code?: unknown }).code ?? (err as { cause?: { code?: unknown } }).cause?.code))) return;
        this.log.warn({ err: (err as Error).message }, 'could not record a pod event');
      })
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private async record(change: ClusterChange): Promise<void> {
    if (change.kind === 'event' && change.type !== 'DELETED') await this.recordEvent(change.event);
    if (change.kind === 'pod' && change.type !== 'DELETED') await this.recordRestarts(change.pod);
  }

  private async recordEvent(e: EventJson): Promise<void> {
    const ns = e.metadata.namespace ?? '';
    if (!ns.startsWith(NAMESPACE_PREFIX) || !e.metadata.uid) return;
    const orderId = ns.slice(NAMESPACE_PREFIX.length);
    const last = seconds(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp);
    await this.events.recordEvent({
      orderId,
      uid: e.metadata.uid,
      object: `${e.involvedObject?.kind ?? '?'}/${e.involvedObject?.name ?? '?'}`,
      type: e.type ?? 'Normal',
      reason: e.reason ?? '',
      message: (e.message ?? '').slice(0, 2000),
      count: e.count ?? 1,
      firstSeen: seconds(e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp) || last,
      lastSeen: last,
    });
    if (++this.writes % 100 === 0) await this.events.trimEvents(orderId, KEEP_EVENTS_PER_ORDER);
  }

  private async recordRestarts(pod: PodJson): Promise<void> {
    const orderId = pod.metadata.labels?.[ORDER_LABEL];
    if (!orderId) return;
    for (const c of pod.status?.containerStatuses ?? []) {
      if (!c.restartCount) continue;
      const last = c.lastState?.terminated;
      await this.events.recordRestarts({
        orderId,
        pod: pod.metadata.name,
        container: c.name,
        restartCount: c.restartCount,
        // Why it restarted (OOMKilled, Error) says more than the state it waits in (CrashLoopBackOff).
        lastReason: last?.reason ?? c.state?.waiting?.reason ?? '',
        lastExitCode: last?.exitCode ?? null,
        updatedAt: Math.floor(Date.now() / 1000),
      });
    }
  }
}

function seconds(iso: string | null | undefined): number {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? Math.floor(t / 1000) : Math.floor(Date.now() / 1000);
}
