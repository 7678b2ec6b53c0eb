/**
 * Deletes what a retention sweep no longer keeps, a batch at a time, and lets the event
 * loop turn between batches. On SQLite a statement runs synchronously and its promise
 * resolves without letting I/O in: one DELETE of 100,000 usage samples (ten minutes of
 * 5,000 running orders sampled every 30 s) held the loop for 0.4–0.6 s, and every
 * request in flight with it. On PostgreSQL a batch keeps each statement's locks and its
 * deadline short.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Rows a batch deletes, about: some 2 ms of SQLite for usage samples (bench figures in sql-history.ts). */
export const DELETE_BATCH = 1_000;

/** Runs `batch` until it says it was the last, with a loop turn between batches; returns the rows deleted in all. */
export async function deleteInBatches(batch: () => Promise<{ deleted: number; last: boolean }>): Promise<number> {
  let total = 0;
  for (;;) {
    const { deleted, last } = await batch();
    total += deleted;
    if (last) return total;
    await nextTurn();
  }
}
