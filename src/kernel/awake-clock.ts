/**
 * Time this process was able to run, in ms: the wall clock, less the spells in which its
 * event loop did not turn at all (a stop by the scheduler or SIGSTOP, a long synchronous
 * task, a suspended machine).
 *
 * Silence is judged on this clock: a watch that heard nothing for 15 s of wall time, 12 of
 * which this process spent stopped, has not been silent for 15 s — the events may be
 * waiting unread in its socket. A loop that is merely busy still turns every few hundred
 * ms, so its time counts whole, and a server that stops answering a running process is
 * seen as quickly as on the wall clock.
 */
import { performance } from 'node:perf_hooks';

/** How often the loop says it is turning. */
const TICK_MS = 100;
/** A gap between two turns longer than this is a spell of not running: only this much of it counts. */
const LONGEST_TURN_MS = 1_000;

export class AwakeClock {
  private awake = 0;
  private lastTick: number;

  constructor(private readonly wall: () => number = () => performance.now()) {
    this.lastTick = wall();
  }

  /** Ms awake since an arbitrary origin; never goes back. */
  now(): number {
    return this.awake + Math.min(this.wall() - this.lastTick, LONGEST_TURN_MS);
  }

  /** The loop turned: the time since the last turn counts, up to LONGEST_TURN_MS. */
  tick(): void {
    const wall = this.wall();
    this.awake += Math.min(wall - this.lastTick, LONGEST_TURN_MS);
    this.lastTick = wall;
  }
}

let processClock: AwakeClock | undefined;

/** This process's awake clock, ticking from its first use (an unref'd timer keeps nothing alive). */
export function awakeMs(): number {
  if (!processClock) {
    const clock = new AwakeClock();
    setInterval(() => clock.tick(), TICK_MS).unref();
    processClock = clock;
  }
  return processClock.now();
}
