/**
 * Every live session and stream of every order on this replica: one-shot execs,
 * interactive execs, port-forwards and followed logs (SSE). Each holds a connection to
 * the API server (and through it to the kubelet), so an order may hold only so many at
 * once (VKUBE_SESSIONS_PER_ORDER; one more is a 429).
 *
 * Interactive and port-forward sessions are also closed when they have been idle
 * (no byte either way) for VKUBE_SESSION_IDLE_SECONDS, or have lasted
 * VKUBE_SESSION_MAX_SECONDS. Every session ends when its order stops, expires or is
 * aborted (checked every few seconds against the database, so a renewal made on another
 * replica counts), and when its pod goes (told by the pod watch: a restart, an update, a
 * stop, a teardown).
 *
 * The registry is per replica, in memory: a cap per replica bounds what one order can
 * make one replica hold, without shared state. Timers run only while sessions exist.
 */
import { randomBytes } from 'node:crypto';
import { TooManyRequestsError } from '../kernel/errors.js';

export type SessionKind = 'exec' | 'shell' | 'portforward' | 'logs';

/** Why a session ended (in the audit log and in the WebSocket close reason). */
export type EndReason =
  | 'finished' // the command or the connection ended on its own
  | 'client' // the customer closed it
  | 'idle'
  | 'max-length'
  | 'timeout' // a one-shot exec's timeoutSeconds
  | 'order-ended' // stopped, expired or aborted
  | 'pod-gone' // restarted, replaced, deleted
  | 'error'
  | 'shutdown';

export interface SessionLimits {
  maxPerOrder: number;
  idleMs: number;
  maxMs: number;
  /** How often the orders of live sessions are checked in the database (default 5 s). */
  orderCheckMs?: number;
}

export interface SessionRegistryDeps {
  /** Whether the order may still hold sessions (running, not expired, not aborted); a failure to tell keeps them. */
  orderLive(orderId: string): Promise<boolean>;
  now?: () => number;
  log?: (msg: string, err: unknown) => void;
}

export interface OpenSession {
  kind: SessionKind;
  orderId: string;
  /** The pod it is attached to: when that pod goes, so does the session. */
  podUid?: string;
  /** Whether the idle timeout and maximum length apply (not to one-shot execs, which have their own timeout, nor to followed logs, which are quiet by nature). */
  timed: boolean;
}

export class Session {
  readonly id = randomBytes(6).toString('hex');
  readonly startedAt: number;
  lastActive: number;
  endedWith: EndReason | undefined;

  constructor(
    readonly spec: OpenSession,
    private readonly registry: SessionRegistry,
    private readonly onEnd: (reason: EndReason) => void,
    now: number,
  ) {
    this.startedAt = now;
    this.lastActive = now;
  }

  get kind(): SessionKind {
    return this.spec.kind;
  }

  get orderId(): string {
    return this.spec.orderId;
  }

  /** Traffic seen: the idle clock starts again. */
  touch(): void {
    this.lastActive = this.registry.now();
  }

  /** Ends it (once; later calls do nothing) and frees its place. */
  end(reason: EndReason): void {
    if (this.endedWith) return;
    this.endedWith = reason;
    this.registry.forget(this);
    this.onEnd(reason);
  }
}

export class SessionRegistry {
  private readonly byOrder = new Map<string, Set<Session>>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private lastOrderCheck = 0;
  private checking = false;
  readonly now: () => number;

  constructor(
    readonly limits: SessionLimits,
    private readonly deps: SessionRegistryDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Takes a place for a new session, or refuses with 429 when the order holds the most
   * it may. Take it before connecting upstream, and end it if that fails.
   */
  open(spec: OpenSession, onEnd: (reason: EndReason) => void): Session {
    const live = this.byOrder.get(spec.orderId) ?? new Set<Session>();
    if (live.size >= this.limits.maxPerOrder) {
      const kinds = countKinds(live);
      throw new TooManyRequestsError(
        `this order already holds ${live.size} live session(s) (${kinds}), the most allowed at once (VKUBE_SESSIONS_PER_ORDER=${this.limits.maxPerOrder}); close one and try again`,
        5,
      );
    }
    const session = new Session(spec, this, onEnd, this.now());
    live.add(session);
    this.byOrder.set(spec.orderId, live);
    this.startSweeping();
    return session;
  }

  count(orderId: string): number {
    return this.byOrder.get(orderId)?.size ?? 0;
  }

  /** Live sessions by kind, for metrics. */
  counts(): Record<SessionKind, number> {
    const out: Record<SessionKind, number> = { exec: 0, shell: 0, portforward: 0, logs: 0 };
    for (const set of this.byOrder.values()) for (const s of set) out[s.kind]++;
    return out;
  }

  /** Ends every session of the order (it stopped, expired or was aborted). */
  endOrder(orderId: string, reason: EndReason = 'order-ended'): void {
    for (const s of [...(this.byOrder.get(orderId) ?? [])]) s.end(reason);
  }

  /** Ends the sessions attached to a pod that is going away. */
  endPod(podUid: string, reason: EndReason = 'pod-gone'): void {
    for (const set of [...this.byOrder.values()]) for (const s of [...set]) if (s.spec.podUid === podUid) s.end(reason);
  }

  /** Ends everything (the process is shutting down). */
  endAll(reason: EndReason = 'shutdown'): void {
    for (const orderId of [...this.byOrder.keys()]) this.endOrder(orderId, reason);
  }

  /** @internal Session.end calls this. */
  forget(session: Session): void {
    const set = this.byOrder.get(session.orderId);
    if (!set) return;
    set.delete(session);
    if (set.size === 0) this.byOrder.delete(session.orderId);
    if (this.byOrder.size === 0) this.stopSweeping();
  }

  private startSweeping(): void {
    if (this.sweepTimer) return;
    this.sweepTimer = setInterval(() => this.sweep(), 1000);
    // Sessions end with their connections; the timer must not hold a shutting-down process.
    this.sweepTimer.unref();
  }

  private stopSweeping(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Idle and overlong sessions end; now and then the orders are checked. */
  sweep(): void {
    const now = this.now();
    for (const set of [...this.byOrder.values()]) {
      for (const s of [...set]) {
        if (!s.spec.timed) continue;
        if (now - s.startedAt >= this.limits.maxMs) s.end('max-length');
        else if (now - s.lastActive >= this.limits.idleMs) s.end('idle');
      }
    }
    if (!this.checking && now - this.lastOrderCheck >= (this.limits.orderCheckMs ?? 5000)) {
      this.lastOrderCheck = now;
      this.checking = true;
      void this.checkOrders().finally(() => (this.checking = false));
    }
  }

  private async checkOrders(): Promise<void> {
    for (const orderId of [...this.byOrder.keys()]) {
      try {
        if (!(await this.deps.orderLive(orderId))) this.endOrder(orderId, 'order-ended');
      } catch (err) {
        // The database may be briefly unreachable: keep the sessions, look again next time.
        this.deps.log?.(`could not check order ${orderId} for its live sessions`, err);
      }
    }
  }
}

function countKinds(sessions: Set<Session>): string {
  const n = new Map<SessionKind, number>();
  for (const s of sessions) n.set(s.kind, (n.get(s.kind) ?? 0) + 1);
  const names: Record<SessionKind, string> = { exec: 'one-shot exec', shell: 'interactive exec', portforward: 'port-forward', logs: 'followed log' };
  return [...n].map(([k, c]) => `${c} ${names[k]}`).join(', ');
}
