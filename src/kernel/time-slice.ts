/**
 * A long synchronous loop (a reconcile pass over thousands of orders, a usage tick over
 * thousands of pods) lets requests in whenever it has held the event loop for a slice:
 * the work takes as long, but no request waits behind more than one slice of it.
 *
 *   const slice = new TimeSlice(5);
 *   for (const item of items) {
 *     if (slice.spent()) await slice.yield();
 *     …
 *   }
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export class TimeSlice {
  private startedAt = performance.now();

  constructor(private readonly sliceMs: number) {}

  /** The slice is used up: the caller should yield before more work. */
  spent(): boolean {
    return performance.now() - this.startedAt >= this.sliceMs;
  }

  /** Lets I/O and timers in (the next loop turn), then starts a new slice. */
  async yield(): Promise<void> {
    await nextTurn();
    this.startedAt = performance.now();
  }
}
