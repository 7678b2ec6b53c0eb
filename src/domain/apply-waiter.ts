/**
 * Requests record the desired state and its generation; the reconcile leader applies it,
 * maybe on another replica. A request then waits a bounded time for the leader to
 * observe that generation, and answers either way: applied, or recorded with a warning
 * saying why not yet (the leader keeps retrying it from the work queue).
 */
import type { OrderStore, WorkQueueStore } from './store-port.js';
import type { OrderRecord } from './records.js';

export interface ApplyOutcome {
  /** The generation the request recorded. */
  generation: number;
  /** Whether the leader had applied it (or a later one) when the request answered. */
  applied: boolean;
  /** Why not, in words for the customer; absent when applied. */
  warning?: string;
}

/** Tells waiters on this replica at once when the local leader has worked on an order (others poll). */
export class ApplyEvents {
  private readonly listeners = new Map<string, Set<() => void>>();

  notify(orderId: string): void {
    for (const l of this.listeners.get(orderId) ?? []) l();
  }

  /** Calls `listener` on every notification about the order until the returned unsubscribe is called. */
  on(orderId: string, listener: () => void): () => void {
    let set = this.listeners.get(orderId);
    if (!set) this.listeners.set(orderId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(orderId);
    };
  }
}

export interface ApplyWaiterDeps {
  store: Pick<OrderStore, 'findOrder'> & Pick<WorkQueueStore, 'queuedWork'>;
  events: ApplyEvents;
  /** Wakes the local leader's queue (a no-op on a replica that does not lead). */
  wake: () => void;
  /** How long a request waits; 0 answers at once. */
  waitMs: number;
  /** How often the database is asked meanwhile (the leader may be another replica). */
  pollMs?: number;
}

export class ApplyWaiter {
  constructor(private readonly deps: ApplyWaiterDeps) {}

  /** Wakes the local leader's queue for work just recorded, without waiting for it. */
  kick(): void {
    this.deps.wake();
  }

  /**
   * Waits until the order's observed generation reaches `generation`, an attempt at it
   * fails, or the time is up. Called right after the generation was recorded, so the first
   * look waits for the leader's word (or the poll interval): reading the order and its queue
   * entry before that could only find them unapplied, and those reads ran ahead of the local
   * leader's turn to apply.
   */
  async waitFor(orderId: string, generation: number): Promise<ApplyOutcome> {
    const { store, events, waitMs } = this.deps;
    const deadline = Date.now() + waitMs;
    // Listening before the leader is woken: its word may come before the first wait starts.
    let told = false;
    let wakeWaiter: (() => void) | undefined;
    const off = events.on(orderId, () => {
      told = true;
      wakeWaiter?.();
    });
    const nextWord = (ms: number) =>
      new Promise<void>((resolve) => {
        if (told) {
          told = false;
          resolve();
          return;
        }
        const timer = setTimeout(done, ms);
        wakeWaiter = done;
        function done() {
          clearTimeout(timer);
          wakeWaiter = undefined;
          told = false;
          resolve();
        }
      });
    try {
      this.deps.wake();
      for (let look = waitMs <= 0; ; look = true) {
        if (look) {
          const order = await store.findOrder(orderId);
          if (!order || observed(order, generation)) return { generation, applied: true };
          const queued = await store.queuedWork(orderId);
          if (queued && queued.attempts > 0 && queued.lastError) {
            return { generation, applied: false, warning: notYet(generation, `the last attempt failed: ${queued.lastError}; it is retried with back-off`) };
          }
        }
        const left = deadline - Date.now();
        if (left <= 0) return { generation, applied: false, warning: notYet(generation, `not applied within ${waitMs} ms`) };
        await nextWord(Math.min(left, this.deps.pollMs ?? 100));
      }
    } finally {
      off();
    }
  }
}

function observed(order: OrderRecord, generation: number): boolean {
  return order.observedGeneration >= generation;
}

function notYet(generation: number, why: string): string {
  return `recorded as generation ${generation}, but the cluster does not run it yet (${why}); it will be applied as soon as it can, and GET /k8s/pod/status shows when`;
}
