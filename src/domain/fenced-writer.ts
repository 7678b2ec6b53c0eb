/**
 * The one way the reconciler writes to Kubernetes: every single write first checks that
 * this replica still holds the Lease, and is given no longer than the hold has left, so a
 * replica cut off from the API server has stopped writing before another can lead.
 */
import type { ClusterWriter, KubeManifest, WriteOptions } from '../cluster/gateway.js';
import { FencedOut, type Leadership } from './leadership.js';

/** A write needs at least this much of the hold left; less, and it could outlive it. */
const MIN_WINDOW_MS = 250;
/** The longest one write may take when the hold leaves more (the adapter's own default). */
const MAX_WRITE_MS = 15_000;

export class FencedWriter implements ClusterWriter {
  constructor(
    private readonly cluster: ClusterWriter,
    private readonly leadership: Leadership,
    /** Told of every refused write, for the metric. */
    private readonly onRefused: (what: string) => void = () => {},
  ) {}

  async apply(objects: KubeManifest[]): Promise<void> {
    for (const o of objects) await this.cluster.apply([o], this.window(`apply ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`));
  }

  async prune(namespace: string, generation: number): Promise<void> {
    return this.cluster.prune(namespace, generation, this.window(`prune ${namespace}`));
  }

  async deleteNamespace(name: string): Promise<void> {
    return this.cluster.deleteNamespace(name, this.window(`delete namespace ${name}`));
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    return this.cluster.deletePod(namespace, name, this.window(`delete pod ${namespace}/${name}`));
  }

  /** The bound of the next write; throws FencedOut when this replica may not write now. */
  private window(what: string): WriteOptions {
    const left = this.leadership.writeWindowMs();
    if (left < MIN_WINDOW_MS) {
      this.onRefused(what);
      throw new FencedOut(`not the reconcile leader (or its Lease may have lapsed): refused to ${what}`);
    }
    return { timeoutMs: Math.min(MAX_WRITE_MS, Math.floor(left)) };
  }
}
