import type { Clock } from '../../src/kernel/clock.js';

/** A clock the test moves by hand (unix seconds): expiry without waiting for it. */
export class TestClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
}
