/**
 * Asks the API server "are you there?" every few seconds, on the watch budget.
 *
 * A watch cache alone notices a silent API server only when its watch has been quiet
 * past the bookmark interval (a minute and more): until then it keeps saying "live"
 * while its socket leads nowhere — a black-holed API server accepts connections and
 * never answers. Two missed heartbeats in a row mark the API server down within
 * seconds; the gateway then stops calling its caches live and has them reconnect.
 */
import type { KubeHttp } from './kube-http.js';

export interface HeartbeatOptions {
  http: KubeHttp;
  /** Between the end of one probe and the start of the next. */
  intervalMs: number;
  /** The longest one probe may take, queue wait included. */
  timeoutMs: number;
  /** Consecutive misses before the API server counts as down (one slow answer is not an outage). */
  missesBeforeDown?: number;
  onDown: (reason: string) => void;
  onUp: () => void;
}

export interface HeartbeatState {
  up: boolean;
  /** Why it is down, or the last miss while still up. */
  lastError?: string;
  /** Round trip of the last answered probe, in ms. */
  lastRoundTripMs?: number;
}

export class ApiHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private misses = 0;
  private readonly current: HeartbeatState = { up: true };

  constructor(private readonly opts: HeartbeatOptions) {}

  get state(): HeartbeatState {
    return { ...this.current };
  }

  /** state.up without the copy. */
  get up(): boolean {
    return this.current.up;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (!this.running) return;
    // After a miss the next probe goes at once: an outage shows after two probe deadlines, not two intervals more.
    const wait = this.misses > 0 && this.current.up ? 0 : this.opts.intervalMs;
    this.timer = setTimeout(() => void this.probe().finally(() => this.schedule()), wait);
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    const started = Date.now();
    try {
      // /livez is readable by any authenticated identity (system:public-info-viewer).
      await this.opts.http.text('/livez', { budget: 'watch', timeoutMs: this.opts.timeoutMs });
    } catch (err) {
      this.misses++;
      this.current.lastError = `the API server did not answer /livez: ${(err as Error).message}`;
      if (this.current.up && this.misses >= (this.opts.missesBeforeDown ?? 2)) {
        this.current.up = false;
        this.opts.onDown(this.current.lastError);
      }
      return;
    }
    this.misses = 0;
    this.current.lastRoundTripMs = Date.now() - started;
    if (!this.current.up) {
      this.current.up = true;
      this.current.lastError = undefined;
      this.opts.onUp();
    }
  }
}
