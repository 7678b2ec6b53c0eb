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
/** The longest a write waits for the hold to be renewed when what is left is too short for it. */
const MAX_RENEWAL_WAIT_MS = 10_000;

export class FencedWriter implements ClusterWriter {
  /**
   * How long writes take lately (moving average, ms). On a slow API server (2 s a call) a
   * write started with 1 s of hold left would be cut off by its own deadline and counted
   * as the order's failure, with back-off; it waits for the next renewal instead.
   */
  private typicalWriteMs = 0;

  constructor(
    private readonly cluster: ClusterWriter,
    private readonly leadership: Leadership,
    /** Told of every refused write, for the metric. */
    private readonly onRefused: (what: string) => void = () => {},
  ) {}

  async apply(objects: KubeManifest[]): Promise<Array<string | undefined>> {
    const versions: Array<string | undefined> = [];
    for (const o of objects) {
      const what = `apply ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      versions.push(...(await this.timed(what, (opts) => this.cluster.apply([o], opts))));
    }
    return versions;
  }

  async prune(namespace: string, generation: number): Promise<void> {
    return this.timed(`prune ${namespace}`, (opts) => this.cluster.prune(namespace, generation, opts));
  }

  async deleteNamespace(name: string): Promise<void> {
    return this.timed(`delete namespace ${name}`, (opts) => this.cluster.deleteNamespace(name, opts));
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    return this.timed(`delete pod ${namespace}/${name}`, (opts) => this.cluster.deletePod(namespace, name, opts));
  }

  private async timed<T>(what: string, write: (opts: WriteOptions) => Promise<T>): Promise<T> {
    const opts = await this.window(what);
    const started = Date.now();
    const result = await write(opts);
    const ms = Date.now() - started;
    this.typicalWriteMs = this.typicalWriteMs === 0 ? ms : this.typicalWriteMs * 0.8 + ms * 0.2;
    return result;
  }

  /** The bound of the next write; throws FencedOut when this replica may not write now. */
  private async window(what: string): Promise<WriteOptions> {
    let left = this.leadership.writeWindowMs();
    // Too little left for a write of the usual length: wait for the hold to be renewed.
    const needed = Math.max(MIN_WINDOW_MS, 2 * this.typicalWriteMs);
    if (left < needed && this.leadership.isLeader() && this.leadership.nextRenewal) {
      await this.leadership.nextRenewal(MAX_RENEWAL_WAIT_MS);
      left = this.leadership.writeWindowMs();
    }
    if (left < MIN_WINDOW_MS) {
      this.onRefused(what);
      throw new FencedOut(`not the reconcile leader (or its Lease may have lapsed): refused to ${what}`);
    }
    return { timeoutMs: Math.min(MAX_WRITE_MS, Math.floor(left)) };
  }
}
