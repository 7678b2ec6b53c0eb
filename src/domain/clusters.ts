/**
 * The clusters behind this V-Kube as the provider sees them (GET /admin/clusters,
 * `vkube admin clusters`): each one's health, whether this replica holds its Lease, and
 * its regions with their nodes and room. One KUBECONFIG is one cluster here.
 */
import type { ClusterHealth, ClusterReader, RegionCapacity } from '../cluster/gateway.js';

export interface ClusterView {
  name: string;
  /** Its API server answers and every essential watch is live. */
  ready: boolean;
  synced: boolean;
  /** Why not ready, or what is degraded. */
  detail?: string;
  /** This replica holds the cluster's reconcile Lease and may write to it. */
  leader: boolean;
  regions: Array<Omit<RegionCapacity, 'cluster'>>;
}

export class ClusterService {
  constructor(
    private readonly cluster: ClusterReader,
    private readonly leads: (cluster: string) => boolean,
  ) {}

  /** The seed's `GET /k8s/regions`: regions with Ready nodes, sorted; none while the cluster cannot be reached. */
  regions(): string[] {
    return this.cluster.regions() ?? [];
  }

  list(): { clusters: ClusterView[]; conflicts: string[] } {
    const members = this.cluster.members?.() ?? [this.cluster];
    const clusters = members.map((c) => view(c.name, c.health(), this.leads(c.name), c.regionCapacity?.() ?? []));
    // A region whose nodes are in two clusters is served by neither: the set reports it in `degraded`.
    const conflicts = (this.cluster.health().degraded ?? '').split('; ').filter((d) => /^region \S+ is in clusters /.test(d));
    return { clusters, conflicts };
  }
}

function view(name: string, h: ClusterHealth, leader: boolean, regions: RegionCapacity[]): ClusterView {
  const detail = h.detail ?? h.degraded;
  return {
    name,
    ready: h.reachable && h.synced,
    synced: h.synced,
    ...(detail ? { detail } : {}),
    leader,
    regions: regions.map(({ cluster: _cluster, ...r }) => r),
  };
}
