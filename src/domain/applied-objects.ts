/**
 * The isolation objects this replica has applied to Kubernetes, as a digest of the
 * manifest it sent: with the watch showing the object still there, a deploy need not
 * re-apply what has not changed since (an order's quota and limits, made when it was
 * sold) and goes in one round trip. A namespace that is (re)created or deleted forgets
 * what it held; a resync re-applies everything regardless (an object edited by hand is
 * put back then, as are the objects no watch shows).
 */
import { createHash } from 'node:crypto';
import type { KubeManifest } from '../cluster/gateway.js';

export class AppliedObjects {
  /**
   * Namespace → object (kind/name) → digest of the manifest last applied. A plain object
   * per namespace, not a Map: its three keys are shared by every namespace, and with
   * 5,000 orders a Map each (and their digests as strings) held some 3 MiB.
   */
  private readonly byNamespace = new Map<string, Record<string, number>>();

  /** Whether `manifest` is exactly what was last applied (applied, and unchanged since). */
  unchanged(manifest: KubeManifest): boolean {
    return this.objectsOf(manifest)?.[keyOf(manifest)] === digestOf(manifest);
  }

  /** `manifest` was applied (the API server accepted it). */
  record(manifest: KubeManifest): void {
    const ns = manifest.metadata.namespace;
    if (!ns) return;
    let objects = this.byNamespace.get(ns);
    if (!objects) this.byNamespace.set(ns, (objects = {}));
    objects[keyOf(manifest)] = digestOf(manifest);
  }

  /** Applying `manifest` failed: what the cluster holds of it is not known any more. */
  drop(manifest: KubeManifest): void {
    const objects = this.objectsOf(manifest);
    if (objects) delete objects[keyOf(manifest)];
  }

  /** The namespace was deleted or is being (re)created: nothing in it is known. */
  forget(namespace: string): void {
    this.byNamespace.delete(namespace);
  }

  private objectsOf(manifest: KubeManifest): Record<string, number> | undefined {
    return manifest.metadata.namespace ? this.byNamespace.get(manifest.metadata.namespace) : undefined;
  }
}

function keyOf(manifest: KubeManifest): string {
  return `${manifest.kind}/${manifest.metadata.name}`;
}

/**
 * 48 bits of the manifest's SHA-1, as a number: two different manifests look the same
 * once in 2^48, and then only until the next resync re-applies everything.
 */
function digestOf(manifest: KubeManifest): number {
  return createHash('sha1').update(JSON.stringify(manifest)).digest().readUIntBE(0, 6);
}
