/**
 * Whether this replica is ready to serve (`/readyz`): the database answers and the
 * cluster's watch caches are synced and live. Each check is "ok" or why not, so the
 * orchestrator's probe and a provider reading it see the same words.
 */
import type { ClusterHealth, ClusterReader } from '../cluster/gateway.js';
import type { Store } from './store-port.js';

export interface ReadinessChecks {
  database: string;
  cluster: string;
  /** Each source of cluster state (watch caches, the API heartbeat); only when the cluster reports them. */
  sources?: Record<string, string>;
  /** Several clusters: each one by name. */
  clusters?: Record<string, string>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: ReadinessChecks;
  /** What is not ok, in one line (empty when ready). */
  failing: string;
}

export class Readiness {
  constructor(
    private readonly store: Pick<Store, 'ping'>,
    private readonly cluster: Pick<ClusterReader, 'health'>,
  ) {}

  async check(): Promise<ReadinessReport> {
    const database = await this.store.ping().then(
      () => 'ok',
      (err: unknown) => `unreachable: ${(err as Error).message}`,
    );
    const h = this.cluster.health();
    const cluster = describe(h);
    const sources = Object.fromEntries(
      Object.entries(h.sources ?? {}).map(([name, s]) => [name, s.live ? 'ok' : `${s.essential ? '' : '(optional) '}${s.synced ? 'down' : 'not synced yet'}${s.lastError ? `: ${s.lastError}` : ''}`]),
    );
    const clusters = h.clusters ? Object.fromEntries(Object.entries(h.clusters).map(([name, c]) => [name, describe(c)])) : undefined;
    const checks = { database, cluster, ...(h.sources ? { sources } : {}), ...(clusters ? { clusters } : {}) };
    const failing = Object.entries({ database, cluster }).filter(([, v]) => v !== 'ok').map(([k, v]) => `${k} ${v}`);
    return { ready: failing.length === 0, checks, failing: failing.join('; ') };
  }
}

function describe(h: ClusterHealth): string {
  return h.synced && h.reachable ? 'ok' : h.synced ? `unreachable: ${h.detail ?? ''}` : `not synced yet${h.detail ? `: ${h.detail}` : ''}`;
}
