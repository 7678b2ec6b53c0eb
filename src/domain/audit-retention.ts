/**
 * Keeps the audit log to its retention (`VKUBE_AUDIT_RETENTION_DAYS`): entries older
 * than that are deleted soon after start and then every few hours. It runs on the
 * reconcile leader, and the deletion is idempotent (`DELETE … WHERE at < cutoff`), so
 * two replicas that both believe they lead for a moment do no harm.
 */
import type { AuditStore } from './store-port.js';
import type { Clock } from '../kernel/clock.js';

const DAY_SECONDS = 86_400;
/** Retention is counted in days: a few passes a day keep the table within hours of it. */
export const PRUNE_INTERVAL_MS = 6 * 60 * 60 * 1000;
/** Not in the first seconds after start, when the caches sync and the reconciler catches up. */
const FIRST_PRUNE_DELAY_MS = 60_000;

export interface AuditRetentionDeps {
  audit: Pick<AuditStore, 'pruneAudit'>;
  clock: Clock;
  /** 0: kept for ever. */
  retentionDays: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  intervalMs?: number;
  firstDelayMs?: number;
}

export class AuditRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(private readonly deps: AuditRetentionDeps) {}

  start(): void {
    if (this.deps.retentionDays === 0 || this.timer) return;
    const schedule = (ms: number) => {
      this.timer = setTimeout(() => {
        this.running = this.pruneOnce()
          .catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message }, 'could not prune the audit log; trying again at the next pass'))
          .finally(() => {
            this.running = undefined;
            if (this.timer) schedule(this.deps.intervalMs ?? PRUNE_INTERVAL_MS);
          });
      }, ms);
      this.timer.unref();
    };
    schedule(this.deps.firstDelayMs ?? FIRST_PRUNE_DELAY_MS);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Deletes what is past the retention now; returns how many entries went. */
  async pruneOnce(): Promise<number> {
    if (this.deps.retentionDays === 0) return 0;
    const before = this.deps.clock.now() - this.deps.retentionDays * DAY_SECONDS;
    const deleted = await this.deps.audit.pruneAudit(before);
    if (deleted > 0) this.deps.log.info({ deleted, retentionDays: this.deps.retentionDays }, 'pruned the audit log');
    return deleted;
  }
}
