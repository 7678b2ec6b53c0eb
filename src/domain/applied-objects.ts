/**
 * What this replica has applied to Kubernetes and nobody has changed since: for each
 * object a digest of the manifest sent together with the content version the API server
 * answered (ClusterWriter.apply). When the watch shows the object at that version and the
 * manifest is the same, applying it again would change nothing, and it is skipped: by a
 * deploy (an order's quota and limits, made when it was sold: one round trip before the
 * pod) and by a resync (which then re-applies only what someone changed or deleted, and
 * the kinds no watch follows). A namespace that is (re)created or deleted forgets what it
 * held; a new leader knows nothing and applies everything once.
 */
import { createHash } from 'node:crypto';
import type { KubeManifest } from '../cluster/gateway.js';

export class AppliedObjects {
  /**
   * Namespace → object (kind/name) → digest of the manifest and version. A plain object
   * per namespace, not a Map: its few keys are shared by every namespace, and with 5,000
   * orders a Map each (and their digests as strings) held some 3 MiB.
   */
  private readonly byNamespace = new Map<string, Record<string, number>>();

  /** Whether the cluster holds `manifest` as this replica last applied it: the watch shows `watchedVersion`, the version that apply answered. */
  current(manifest: KubeManifest, watchedVersion: string | undefined): boolean {
    return watchedVersion !== undefined && this.objectsOf(manifest)?.[keyOf(manifest)] === digestOf(manifest, watchedVersion);
  }

  /** `manifest` was applied and the API server answered `version` (undefined: a kind no watch follows, so nothing to remember). */
  record(manifest: KubeManifest, version: string | undefined): void {
    const ns = manifest.metadata.namespace;
    if (!ns) return;
    if (version === undefined) return this.drop(manifest);
    let objects = this.byNamespace.get(ns);
    if (!objects) this.byNamespace.set(ns, (objects = {}));
    objects[keyOf(manifest)] = digestOf(manifest, version);
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
 * 48 bits of the SHA-1 of the manifest and the version, as a number: two different pairs
 * look the same once in 2^48, and then only until the object or its manifest changes.
 */
function digestOf(manifest: KubeManifest, version: string): number {
  return createHash('sha1').update(version).update('\n').update(JSON.stringify(manifest)).digest().readUIntBE(0, 6);
}
