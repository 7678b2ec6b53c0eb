/**
 * Keeps what happened to each order's pods — Kubernetes events and container restart
 * counts — in the database as the watches report it, so a customer still sees why its
 * container restarted after Kubernetes dropped the event (after an hour) or replaced
 * the pod. Recording is best effort: a failed write is logged, never fatal.
 *
 * Writes go through one bounded queue, written a batch at a time (so a newer version of
 * an event is never overwritten by an older one finishing late):
 * - a batch is what the queue holds a moment (BATCH_DELAY_MS) after its first record:
 *   the half-dozen events of a deploy or a whole event storm become one transaction, and
 *   the writing comes after the busy moment that raised them (a deploy's pod starting);
 * - at most `maxQueued` records wait; a newer version of a queued record replaces it
 *   in place. When the queue is full, new records are dropped, counted (`onDrop`,
 *   the `vkube_event_records_dropped_total` metric) and logged once per overflow.
 * - a record already written is not written again: a watch re-list replays every
 *   event, and the same event uid and count (or the same restart count of a container)
 *   is skipped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterChange, ClusterReader, EventJson, PodJson } from '../cluster/gateway.js';
import type { ContainerRestarts, PodEvent } from './records.js';
import type { EventBatch, EventStore } from './store-port.js';
import { ORDER_LABEL } from './manifests.js';

const KEEP_EVENTS_PER_ORDER = 500;
const NAMESPACE_PREFIX = 'vkube-';
/** Records waiting to be written, at most (an event storm in many namespaces at once). */
export const DEFAULT_MAX_QUEUED = 10_000;
/**
 * What was written is remembered for this many records, oldest forgotten first
 * (forgetting only costs a repeated write). Each as two numbers: a 53-bit digest of its
 * key and the version. With string keys, the 25,000 records of 5,000 pods held 4.4 MiB.
 */
const REMEMBERED = 50_000;
/** stop() writes what is still queued for at most this long; the rest is dropped. */
const STOP_DRAIN_MS = 5_000;
/** How long the first record of a batch waits for others: the events of one deploy come within some 50 ms. */
export const BATCH_DELAY_MS = 100;
/** Records in one batch, at most. */
const MAX_BATCH = 500;
/** Every this many events written, the orders of the batch are trimmed to their newest KEEP_EVENTS_PER_ORDER. */
const TRIM_EVERY = 100;

export interface EventRecorderOptions {
  maxQueued?: number;
  /** Called once per record dropped because the queue was full. */
  onDrop?: () => void;
}

interface Job {
  key: string;
  /** What was seen: an event's count, a container's restart count. */
  version: number;
  record: { event: PodEvent } | { restarts: ContainerRestarts };
}

type Log = { warn(obj: object, msg: string): void };

export class EventRecorder {
  private unsubscribe: (() => void) | undefined;
  private readonly queue = new Map<string, Job>();
  /** Digest of a record's key (keyDigest) → the version written (or being written). */
  private readonly written = new Map<number, number>();
  private draining: Promise<void> | undefined;
  private stopping = false;
  private overflowing = false;
  private writes = 0;
  private readonly maxQueued: number;

  constructor(
    private readonly cluster: ClusterReader,
    private readonly events: EventStore,
    private readonly log: Log,
    private readonly opts: EventRecorderOptions = {},
  ) {
    this.maxQueued = opts.maxQueued ?? DEFAULT_MAX_QUEUED;
  }

  start(): void {
    this.stopping = false;
    this.unsubscribe = this.cluster.onChange((change) => this.observe(change));
  }

  /** Stops listening, writes what is queued (for a few seconds at most) and waits for it. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const deadline = setTimeout(() => {
      this.stopping = true;
    }, STOP_DRAIN_MS);
    await this.flush();
    clearTimeout(deadline);
    this.stopping = false;
  }

  /** Resolves when everything queued so far has been written (tests). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Records waiting to be written. */
  get queued(): number {
    return this.queue.size;
  }

  /** Queues the records a change carries (the cluster's listener: synchronous, never throws). */
  private observe(change: ClusterChange): void {
    if (change.kind === 'event') {
      if (change.type === 'DELETED') this.forget(eventKey(change.event));
      else this.observeEvent(change.event);
    } else if (change.kind === 'pod') {
      for (const c of change.pod.spec?.containers ?? []) if (change.type === 'DELETED') this.forget(restartKey(change.pod, c.name));
      if (change.type !== 'DELETED') this.observeRestarts(change.pod);
    }
  }

  private observeEvent(e: EventJson): void {
    const ns = e.metadata.namespace ?? '';
    if (!ns.startsWith(NAMESPACE_PREFIX) || !e.metadata.uid) return;
    const orderId = ns.slice(NAMESPACE_PREFIX.length);
    const last = seconds(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp);
    const record = {
      orderId,
      uid: e.metadata.uid,
      object: `${e.involvedObject?.kind ?? '?'}/${e.involvedObject?.name ?? '?'}`,
      type: e.type ?? 'Normal',
      reason: e.reason ?? '',
      message: (e.message ?? '').slice(0, 2000),
      count: e.count ?? 1,
      firstSeen: seconds(e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp) || last,
      lastSeen: last,
    };
    this.enqueue(eventKey(e), record.count, { event: record });
  }

  private observeRestarts(pod: PodJson): void {
    const orderId = pod.metadata.labels?.[ORDER_LABEL];
    if (!orderId) return;
    for (const c of pod.status?.containerStatuses ?? []) {
      if (!c.restartCount) continue;
      const last = c.lastState?.terminated;
      const record = {
        orderId,
        pod: pod.metadata.name,
        container: c.name,
        restartCount: c.restartCount,
        // Why it restarted (OOMKilled, Error) says more than the state it waits in (CrashLoopBackOff).
        lastReason: last?.reason ?? c.state?.waiting?.reason ?? '',
        lastExitCode: last?.exitCode ?? null,
        updatedAt: Math.floor(Date.now() / 1000),
      };
      this.enqueue(restartKey(pod, c.name), c.restartCount, { restarts: record });
    }
  }

  private enqueue(key: string, version: number, record: Job['record']): void {
    if (this.written.get(keyDigest(key)) === version) return;
    if (this.queue.has(key)) {
      // A newer version of a record still waiting: it takes the old one's place.
      this.queue.set(key, { key, version, record });
      return;
    }
    if (this.queue.size >= this.maxQueued) {
      this.opts.onDrop?.();
      if (!this.overflowing) {
        this.overflowing = true;
        this.log.warn({ maxQueued: this.maxQueued }, 'pod event recording cannot keep up: dropping records until its queue drains (counted in vkube_event_records_dropped_total)');
      }
      return;
    }
    this.queue.set(key, { key, version, record });
    this.kick();
  }

  private kick(): void {
    if (this.draining) return;
    // A moment later, not in the turn of the change: a pod's change may answer a request
    // waiting for it (`?wait=Running`), and that answer goes out before these records are
    // written; and the records that come meanwhile join the batch.
    this.draining = sleep(BATCH_DELAY_MS)
      .then(() => this.drain())
      .finally(() => {
        this.draining = undefined;
        if (this.queue.size > 0) this.kick();
      });
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0) {
      const jobs: Job[] = [];
      for (const job of this.queue.values()) {
        if (jobs.length === MAX_BATCH) break;
        jobs.push(job);
      }
      for (const job of jobs) this.queue.delete(job.key);
      if (this.stopping) {
        for (let i = 0; i < jobs.length; i++) this.opts.onDrop?.();
        continue;
      }
      for (const job of jobs) this.remember(job.key, job.version);
      try {
        await this.events.recordBatch(batchOf(jobs));
      } catch (err) {
        // Not written after all: the next sight of these records (a change, a re-list) tries again.
        for (const job of jobs) {
          const digest = keyDigest(job.key);
          if (this.written.get(digest) === job.version) this.written.delete(digest);
        }
        this.reportFailure(err);
      }
      await this.trim(jobs);
    }
    this.overflowing = false;
  }

  /** Every TRIM_EVERY events written, the orders of the latest batch keep their newest KEEP_EVENTS_PER_ORDER. */
  private async trim(jobs: Job[]): Promise<void> {
    const orders = new Set<string>();
    let events = 0;
    for (const { record } of jobs) {
      if (!('event' in record)) continue;
      events++;
      orders.add(record.event.orderId);
    }
    const before = this.writes;
    this.writes += events;
    if (Math.floor(before / TRIM_EVERY) === Math.floor(this.writes / TRIM_EVERY)) return;
    for (const orderId of orders) {
      try {
        await this.events.trimEvents(orderId, KEEP_EVENTS_PER_ORDER);
      } catch (err) {
        this.reportFailure(err);
      }
    }
  }

  private reportFailure(err: unknown): void {
    this.log.warn({ err: (err as Error).message }, 'could not record a pod event');
  }

  private remember(key: string, version: number): void {
    const digest = keyDigest(key);
    this.written.delete(digest);
    this.written.set(digest, version);
    if (this.written.size > REMEMBERED) this.written.delete(this.written.keys().next().value!);
  }

  /** The object is gone from the cluster: it will not be replayed, so it need not be remembered. */
  private forget(key: string): void {
    this.written.delete(keyDigest(key));
  }
}

/**
 * 53 bits of two 32-bit multiplicative hashes (FNV-1a and a MurmurHash-style mix) of a
 * record's key, as a number. Two of the 50,000 keys remembered share a digest with a
 * chance of about 1 in 7 million; one record could then be taken for written when both
 * had the same count.
 */
export function keyDigest(key: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0) + (b >>> 11) * 2 ** 32;
}

function batchOf(jobs: Job[]): EventBatch {
  const batch: EventBatch = { events: [], restarts: [] };
  for (const { record } of jobs) {
    if ('event' in record) batch.events.push(record.event);
    else batch.restarts.push(record.restarts);
  }
  return batch;
}

function eventKey(e: EventJson): string {
  return `event ${e.metadata.namespace ?? ''}/${e.metadata.uid ?? e.metadata.name}`;
}

function restartKey(pod: PodJson, container: string): string {
  return `restarts ${pod.metadata.namespace ?? ''}/${pod.metadata.name}/${container}`;
}

function seconds(iso: string | null | undefined): number {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? Math.floor(t / 1000) : Math.floor(Date.now() / 1000);
}
