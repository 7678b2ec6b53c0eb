/**
 * Runs tasks one at a time per key (one order's reconcile never overlaps itself).
 *
 * A caller waits for the tasks queued before it at most `timeoutMs`; then it gets a
 * LockTimeoutError (503, naming what waited) and its task never runs. A caller that
 * gave up keeps its place in the queue only as a marker: the next one in line still
 * waits for the task before it, never for a task that will not run.
 */
import { LockTimeoutError } from '../kernel/errors.js';

export interface KeyedMutexOptions {
  timeoutMs: number;
  /** What waits, in words: `the reconcile of order abc`. */
  describe: (key: string) => string;
}

export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly opts: KeyedMutexOptions) {}

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    // Settles when both the task before and this one are over; never rejects.
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    try {
      await this.acquire(previous, key);
      return await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Resolves when the task before is over; rejects after the timeout. */
  private acquire(previous: Promise<void>, key: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LockTimeoutError(this.opts.describe(key), this.opts.timeoutMs)), this.opts.timeoutMs);
    });
    return Promise.race([previous, timeout]).finally(() => clearTimeout(timer));
  }
}
