/**
 * Turns what the pod watch shows into events: a pod Running and Ready (`pod.running`),
 * a container in CrashLoopBackOff (`pod.crashloop`), a container killed for memory
 * (`pod.oomkilled`). Run by the reconcile leader. Each is recorded once per pod and
 * container (a dedupe key in the outbox), so a watch re-list, a new leader or a
 * container that keeps crashing never tells the same thing twice; a new pod (an update,
 * a restart of the order) may tell it again.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ClusterChange, ClusterReader, PodJson } from '../../cluster/gateway.js';
import type { NewOutboxEvent, NotificationStore } from './store-port.js';
import { ORDER_LABEL } from '../manifests.js';

/** Keys recorded lately, remembered to spare the database a write per pod update. */
const REMEMBERED = 20_000;

export class PodNotices {
  private unsubscribe: (() => void) | undefined;
  private readonly seen = new Set<string>();
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly cluster: ClusterReader,
    private readonly store: NotificationStore,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {}

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.cluster.onChange((change) => this.observe(change));
    // Pods already in trouble when this replica starts leading: the caches hold them.
    for (const ns of this.cluster.managedNamespaces()) for (const pod of this.cluster.podsInNamespace(ns.metadata.name)) this.observePod(pod);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.flush();
  }

  /** Resolves when what was observed so far is recorded (tests). */
  async flush(): Promise<void> {
    await this.pending;
  }

  private observe(change: ClusterChange): void {
    if (change.kind === 'pod' && change.type !== 'DELETED') this.observePod(change.pod);
  }

  /** The events this pod's state tells of (pure; exported for tests). */
  static eventsOf(pod: PodJson, at: number): NewOutboxEvent[] {
    const orderId = pod.metadata.labels?.[ORDER_LABEL];
    const uid = pod.metadata.uid;
    if (!orderId || !uid || pod.metadata.deletionTimestamp) return [];
    const base = { orderId, at };
    const out: NewOutboxEvent[] = [];
    const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (pod.status?.phase === 'Running' && ready) out.push({ ...base, type: 'pod.running', dedupeKey: `pod.running/${uid}`, data: { pod: pod.metadata.name } });
    for (const c of pod.status?.containerStatuses ?? []) {
      const last = c.lastState?.terminated;
      const detail = { pod: pod.metadata.name, container: c.name, restartCount: c.restartCount ?? 0 };
      if (c.state?.waiting?.reason === 'CrashLoopBackOff') {
        out.push({
          ...base,
          type: 'pod.crashloop',
          dedupeKey: `pod.crashloop/${uid}/${c.name}`,
          data: { ...detail, lastReason: last?.reason ?? '', lastExitCode: last?.exitCode ?? null },
        });
      }
      const oom = c.state?.terminated?.reason === 'OOMKilled' ? c.state.terminated : last?.reason === 'OOMKilled' ? last : undefined;
      if (oom) out.push({ ...base, type: 'pod.oomkilled', dedupeKey: `pod.oomkilled/${uid}/${c.name}`, data: { ...detail, exitCode: oom.exitCode ?? null } });
    }
    return out;
  }

  private observePod(pod: PodJson): void {
    for (const event of PodNotices.eventsOf(pod, Date.now())) {
      const key = event.dedupeKey!;
      if (this.seen.has(key)) continue;
      this.remember(key);
      // One write at a time, in the order seen; a failure forgets the key so the next sight retries.
      // Each waits for the event loop's next turn: the same change may answer a request
      // waiting for it (`?wait=Running`), and that answer goes out first.
      this.pending = this.pending.then(nextTurn).then(() =>
        this.store.appendEvent(event).then(
          () => undefined,
          (err: unknown) => {
            this.seen.delete(key);
            this.log.warn({ event: event.type, order: event.orderId, err: (err as Error).message }, 'could not record a pod notice; the next pod update retries');
          },
        ),
      );
    }
  }

  private remember(key: string): void {
    this.seen.add(key);
    if (this.seen.size > REMEMBERED) this.seen.delete(this.seen.values().next().value!);
  }
}
