/**
 * Waiting for an order's pod without polling: `GET /k8s/pod/status?wait=Running&timeout=30`
 * answers the moment the pod watch shows the pod of the order's latest deploy Running (or
 * Ready), as soon as it shows that pod cannot get there by itself (failed, crash-looping,
 * an image that cannot be pulled, no node for it), or when the time is up — whichever
 * comes first. One subscription to the watch serves every waiting request; each waits
 * only for changes of pods in its own order's namespace.
 */
import type { ClusterReader, PodJson } from '../cluster/gateway.js';
import type { OrderRecord } from './records.js';
import { ConflictError, InputError, NotFoundError, UnavailableError } from '../kernel/errors.js';
import { ORDER_LABEL, RESTART_ANNOTATION, namespaceOf } from './manifests.js';

export type WaitTarget = 'Running' | 'Ready';
export const WAIT_TARGETS: readonly WaitTarget[] = ['Running', 'Ready'];
export const DEFAULT_WAIT_SECONDS = 30;
export const MAX_WAIT_SECONDS = 120;

/** How a wait ended, sent beside the pod's status. */
export interface WaitOutcome {
  for: WaitTarget;
  /** The pod reached the target. */
  met: boolean;
  /** The time ran out first. */
  timedOut: boolean;
  waitedMs: number;
  /** In words: what was reached, or why not. */
  message: string;
}

export interface WaitRequest {
  target: WaitTarget;
  timeoutMs: number;
}

/** Container states that do not fix themselves: the wait answers at once instead of running out. */
const STUCK_WAITING = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** `wait` and `timeout` as the query gives them (strings); undefined when there is no wait. 400 naming the field otherwise. */
export function parseWaitQuery(wait: unknown, timeout: unknown): WaitRequest | undefined {
  const one = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  const w = one(wait);
  const t = one(timeout);
  if (w === undefined || w === '') {
    if (t !== undefined && t !== '') throw new InputError('only with wait (e.g. wait=Running&timeout=30)', 'timeout');
    return undefined;
  }
  if (typeof w !== 'string' || !(WAIT_TARGETS as readonly string[]).includes(w)) throw new InputError(`must be ${WAIT_TARGETS.join(' or ')}, not ${JSON.stringify(w)}`, 'wait');
  let seconds = DEFAULT_WAIT_SECONDS;
  if (t !== undefined && t !== '') {
    if (typeof t !== 'string' || !/^\d+$/.test(t) || Number(t) < 1 || Number(t) > MAX_WAIT_SECONDS) {
      throw new InputError(`must be a whole number of seconds from 1 to ${MAX_WAIT_SECONDS}, not ${JSON.stringify(t)}`, 'timeout');
    }
    seconds = Number(t);
  }
  return { target: w as WaitTarget, timeoutMs: seconds * 1000 };
}

export class PodWaiter {
  /** Waiting requests by namespace; one subscription to the watch serves them all. */
  private readonly waiting = new Map<string, Set<() => void>>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly cluster: ClusterReader) {}

  /**
   * Resolves with the pod of the order's latest deploy and how the wait ended. A service
   * that is not running (nothing deployed, stopped, ended) has no pod to wait for: 404 or
   * 409 at once. When the time runs out before that pod exists: 404 saying so.
   */
  async wait(order: OrderRecord, req: WaitRequest, signal: AbortSignal): Promise<{ pod: PodJson; outcome: WaitOutcome }> {
    if (!order.spec) throw new NotFoundError('nothing is deployed for this order yet');
    if (order.serviceStatus !== 'ServiceRunning') throw new ConflictError(`the service is ${order.serviceStatus}; no pod will run until it is started again`);
    const ns = namespaceOf(order.id);
    const started = Date.now();
    const check = (final: boolean): { pod: PodJson; outcome: WaitOutcome } | undefined => {
      const readable = this.cluster.canRead ? this.cluster.canRead() : ((h) => h.synced && h.reachable)(this.cluster.health());
      if (!readable) {
        if (final) throw new UnavailableError('the cluster cannot be read now; try again shortly');
        return undefined;
      }
      const pod = latestPod(this.cluster.podsInNamespace(ns), order);
      const waitedMs = Date.now() - started;
      if (!pod) {
        if (final) throw new NotFoundError(`no pod of the latest deploy appeared within ${seconds(waitedMs)} (the cluster may still be starting it)`);
        return undefined;
      }
      if (reached(pod, req.target)) return { pod, outcome: { for: req.target, met: true, timedOut: false, waitedMs, message: `pod ${pod.metadata.name} is ${req.target}` } };
      const stuck = stuckReason(pod);
      if (stuck) return { pod, outcome: { for: req.target, met: false, timedOut: false, waitedMs, message: `pod ${pod.metadata.name} will not become ${req.target} by itself: ${stuck}` } };
      if (final) {
        return {
          pod,
          outcome: { for: req.target, met: false, timedOut: true, waitedMs, message: `pod ${pod.metadata.name} is not ${req.target} after ${seconds(waitedMs)}: ${describe(pod)}` },
        };
      }
      return undefined;
    };
    const now = check(false);
    if (now) return now;
    return new Promise((resolve, reject) => {
      const finish = (final: boolean) => {
        let answer: { pod: PodJson; outcome: WaitOutcome } | undefined;
        try {
          answer = check(final);
        } catch (err) {
          done();
          reject(err);
          return;
        }
        if (!answer) return;
        done();
        resolve(answer);
      };
      const onChange = () => finish(false);
      const onEnd = () => finish(true);
      const timer = setTimeout(onEnd, req.timeoutMs);
      signal.addEventListener('abort', onEnd, { once: true });
      const off = this.listen(ns, onChange);
      if (signal.aborted) onEnd();
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', onEnd);
        off();
      }
    });
  }

  /** Requests waiting now (for the metrics and tests). */
  get size(): number {
    let n = 0;
    for (const set of this.waiting.values()) n += set.size;
    return n;
  }

  private listen(ns: string, fn: () => void): () => void {
    this.unsubscribe ??= this.cluster.onChange((change) => {
      if (change.kind === 'pod') {
        const set = this.waiting.get(change.pod.metadata.namespace ?? '');
        if (set) for (const l of [...set]) l();
      } else if (change.kind === 'resync') {
        for (const set of [...this.waiting.values()]) for (const l of [...set]) l();
      }
    });
    let set = this.waiting.get(ns);
    if (!set) this.waiting.set(ns, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.waiting.delete(ns);
    };
  }
}

/**
 * The newest pod made for the order's current restart generation (every deploy and
 * restart bumps it): right after a redeploy the old pod, still Running, does not count.
 */
function latestPod(pods: PodJson[], order: OrderRecord): PodJson | undefined {
  const want = String(order.restartGeneration);
  let best: PodJson | undefined;
  for (const p of pods) {
    if (p.metadata.labels?.[ORDER_LABEL] !== order.id || p.metadata.deletionTimestamp) continue;
    if (p.metadata.annotations?.[RESTART_ANNOTATION] !== want) continue;
    if (!best || (p.metadata.creationTimestamp ?? '') >= (best.metadata.creationTimestamp ?? '')) best = p;
  }
  return best;
}

function reached(pod: PodJson, target: WaitTarget): boolean {
  if (pod.status?.phase !== 'Running') return false;
  return target === 'Running' || (pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);
}

function stuckReason(pod: PodJson): string | undefined {
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return `the pod has ended (${phase}${pod.status?.reason ? `: ${pod.status.reason}` : ''})`;
  const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
  if (unschedulable) return `no node can take it (${unschedulable.message ?? 'Unschedulable'})`;
  for (const c of pod.status?.containerStatuses ?? []) {
    const reason = c.state?.waiting?.reason;
    if (reason && STUCK_WAITING.has(reason)) return `container ${c.name}: ${reason}${c.state?.waiting?.message ? ` (${c.state.waiting.message})` : ''}`;
  }
  return undefined;
}

function describe(pod: PodJson): string {
  const waiting = (pod.status?.containerStatuses ?? []).flatMap((c) => (c.state?.waiting?.reason ? [`${c.name}: ${c.state.waiting.reason}`] : []));
  return `it is ${pod.status?.phase ?? 'Pending'}${waiting.length ? ` (${waiting.join(', ')})` : ''}`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
