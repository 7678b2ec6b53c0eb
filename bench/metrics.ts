/**
 * V-Kube's own view of a load phase, from its Prometheus endpoint (`/metrics`), when
 * the running version has one: how long the event loop stalled, how many reconcile
 * passes ran and how long they took, the heap in use and committed, the memory outside
 * it. Missing metrics are left out.
 */
import { type Endpoint, request } from './http.js';

export type Samples = Map<string, number>;

export async function scrape(vk: Endpoint): Promise<Samples | undefined> {
  try {
    const res = await request(vk, 'GET', '/metrics', { timeoutMs: 10_000 });
    if (res.status !== 200) return undefined;
    const out: Samples = new Map();
    for (const line of res.body.toString('utf8').split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
      if (m) out.set(m[1]!, Number(m[2]));
    }
    return out;
  } catch {
    return undefined;
  }
}

/**
 * What happened between two scrapes. prom-client resets its event-loop delay histogram
 * at every scrape, so the lag figures of the second one cover exactly the window.
 */
export function windowFigures(before: Samples | undefined, after: Samples | undefined): Record<string, number> {
  if (!before || !after) return {};
  const out: Record<string, number> = {};
  const pick = (name: string) => after.get(name) ?? after.get(name.replace(/^vkube_/, ''));
  const lagMax = pick('vkube_nodejs_eventloop_lag_max_seconds');
  const lagP99 = pick('vkube_nodejs_eventloop_lag_p99_seconds');
  if (lagMax !== undefined) out.eventLoopLagMaxMs = Math.round(lagMax * 10_000) / 10;
  if (lagP99 !== undefined) out.eventLoopLagP99Ms = Math.round(lagP99 * 10_000) / 10;
  const passes = delta(before, after, 'vkube_reconcile_pass_duration_seconds_count');
  const passSeconds = delta(before, after, 'vkube_reconcile_pass_duration_seconds_sum');
  if (passes !== undefined) out.reconcilePasses = passes;
  if (passes && passSeconds !== undefined) out.reconcilePassMeanMs = Math.round((passSeconds / passes) * 1000);
  const mib = (bytes: number | undefined) => (bytes === undefined ? undefined : Math.round((bytes / 2 ** 20) * 10) / 10);
  const heap = mib(pick('vkube_nodejs_heap_size_used_bytes'));
  if (heap !== undefined) out.heapUsedMiB = heap;
  // What RSS holds beside the live heap: the heap V8 has committed (live + room to grow) and memory outside it (Buffers).
  const committed = mib(pick('vkube_nodejs_heap_size_total_bytes'));
  if (committed !== undefined) out.heapTotalMiB = committed;
  const external = mib(pick('vkube_nodejs_external_memory_bytes'));
  if (external !== undefined) out.externalMiB = external;
  const gc = delta(before, after, 'vkube_nodejs_gc_duration_seconds_sum{kind="major"}');
  if (gc !== undefined) out.majorGcMs = Math.round(gc * 1000);
  return out;
}

function delta(before: Samples, after: Samples, name: string): number | undefined {
  const a = before.get(name);
  const b = after.get(name);
  return a === undefined || b === undefined ? undefined : b - a;
}
