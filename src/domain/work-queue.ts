/**
 * The leader's durable per-order work queue (client-go's workqueue, kept in the
 * database so that neither a crash nor a change of leader loses an entry). Requests
 * queue an order in the same transaction that changes its desired state; the leader
 * takes what is due, one attempt per order at a time, and on failure puts it back with
 * an exponential back-off, counts it and logs it: an error is never swallowed, and the
 * entry stays until an attempt succeeds.
 */
import type { WorkQueueStore } from './store-port.js';
import type { QueuedWork } from './records.js';
import { FencedOut } from './leadership.js';

/** What one attempt asks for: nothing more, or another look after a while (a namespace still going away). */
export interface WorkResult {
  requeueAfterMs?: number;
}

export type AttemptOutcome = 'done' | 'requeued' | 'failed';

export interface WorkQueueDeps {
  store: WorkQueueStore;
  /** One attempt at an order (the reconciler's). */
  work: (orderId: string) => Promise<WorkResult>;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** How often the leader looks for entries queued by other replicas. */
  pollMs: number;
  /** Orders worked on at once. */
  concurrency?: number;
  backoff?: { baseMs: number; maxMs: number };
  /** Told after every attempt, for metrics and for requests waiting on the order. */
  onAttempt?: (orderId: string, outcome: AttemptOutcome, ms: number, error?: string) => void;
  now?: () => number;
}

export const DEFAULT_BACKOFF = { baseMs: 500, maxMs: 60_000 };
const TAKE = 32;

/** The delay before attempt `attempts + 1` after `attempts` failures: doubling, capped, with ±20 % jitter so retries spread. */
export function backoffMs(attempts: number, backoff = DEFAULT_BACKOFF, random = Math.random): number {
  const plain = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempts, 30));
  return Math.round(plain * (0.8 + 0.4 * random()));
}

export class WorkQueue {
  /** The next look at the queue: a timer, or an immediate when woken (setTimeout(0) waits a millisecond or more). */
  private timer: { cancel(): void } | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;
  private readonly now: () => number;

  constructor(private readonly deps: WorkQueueDeps) {
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.started = false;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
  }

  /** Look now (something was just queued on this replica). A replica that does not lead ignores it. */
  wake(): void {
    if (this.started) this.schedule(0);
  }

  /** Queues the order durably (unless it is queued already: a back-off keeps running) and, when leading, looks at once. */
  async recheck(orderId: string): Promise<void> {
    await this.deps.store.ensureQueued(orderId, this.now());
    this.wake();
  }

  /** Works off every entry due now (and those that come due meanwhile); resolves when none is left. */
  drain(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.drainOnce();
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(ms: number): void {
    this.timer?.cancel();
    const look = () => {
      this.timer = undefined;
      void this.drain().finally(() => {
        if (this.started && !this.timer) this.schedule(this.deps.pollMs);
      });
    };
    if (ms === 0) {
      const immediate = setImmediate(look);
      this.timer = { cancel: () => clearImmediate(immediate) };
    } else {
      const timeout = setTimeout(look, ms);
      this.timer = { cancel: () => clearTimeout(timeout) };
    }
  }

  private async drainOnce(): Promise<void> {
    const concurrency = this.deps.concurrency ?? 8;
    for (;;) {
      let due: QueuedWork[];
      try {
        due = await this.deps.store.dueWork(this.now(), TAKE);
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'work queue: could not read the queue; trying again shortly');
        return;
      }
      if (due.length === 0) return;
      let next = 0;
      const worker = async () => {
        while (next < due.length) {
          const entry = due[next++]!;
          await this.attempt(entry);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, worker));
      if (due.length < TAKE) return;
    }
  }

  private async attempt(entry: QueuedWork): Promise<void> {
    const { store, log, onAttempt } = this.deps;
    const started = this.now();
    try {
      const result = await this.deps.work(entry.orderId);
      if (result.requeueAfterMs !== undefined) {
        await store.deferWork(entry.orderId, entry.stamp, this.now() + result.requeueAfterMs, undefined);
        onAttempt?.(entry.orderId, 'requeued', this.now() - started);
      } else {
        await store.completeWork(entry.orderId, entry.stamp);
        onAttempt?.(entry.orderId, 'done', this.now() - started);
      }
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      if (err instanceof FencedOut) {
        // Not ours to do any more: the entry stays as it is for the next leader.
        log.warn({ order: entry.orderId, err: message }, 'work queue: stopped, this replica no longer holds the Lease');
        onAttempt?.(entry.orderId, 'failed', this.now() - started, message);
        return;
      }
      const delay = backoffMs(entry.attempts, this.deps.backoff);
      log.warn({ order: entry.orderId, attempt: entry.attempts + 1, retryInMs: delay, err: message }, 'work queue: attempt failed; retrying with back-off');
      onAttempt?.(entry.orderId, 'failed', this.now() - started, message);
      await store.deferWork(entry.orderId, entry.stamp, this.now() + delay, message).catch((e: unknown) => {
        // The entry stays due: the next poll retries it (the database is the trouble then).
        log.error({ order: entry.orderId, err: (e as Error).message }, 'work queue: could not record the failed attempt');
      });
    }
  }
}
