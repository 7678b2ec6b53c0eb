/** The clusters behind this V-Kube (admin API): health, Lease, regions and their room. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ClusterService } from '../../domain/clusters.js';
import { adminAuth } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { errorResponses } from '../schemas.js';

export interface ClusterRouteDeps {
  clusters: ClusterService;
  adminToken: string | undefined;
  limiter: ClientLimiter;
}

const RegionView = Type.Object({
  region: Type.String(),
  nodes: Type.Integer(),
  readyNodes: Type.Integer(),
  cpuMillis: Type.Integer({ description: 'allocatable CPU of the Ready nodes, millicores' }),
  memoryBytes: Type.Integer({ description: 'allocatable memory of the Ready nodes' }),
  pods: Type.Integer({ description: 'allocatable pods of the Ready nodes' }),
  freeMemoryBytes: Type.Integer({ description: 'allocatable memory not yet requested by pods (Ready nodes)' }),
});

const ClusterView = Type.Object({
  name: Type.String({ description: 'VKUBE_KUBECONFIGS name (or the kubeconfig\'s cluster name with one KUBECONFIG)' }),
  ready: Type.Boolean({ description: 'the API server answers and every essential watch is live' }),
  synced: Type.Boolean(),
  detail: Type.Optional(Type.String({ description: 'why not ready, or what is degraded' })),
  leader: Type.Boolean({ description: "this replica holds the cluster's reconcile Lease and writes to it" }),
  regions: Type.Array(RegionView, { description: 'as the nodes last seen show them (a cluster that cannot be reached keeps its last view)' }),
});

export const clusterRoutes: FastifyPluginAsyncTypebox<ClusterRouteDeps> = async (app, deps) => {
  app.addHook('preHandler', adminAuth(deps.adminToken, deps.limiter));
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, security: [{ admin: [] }] };
  });
  app.get(
    '/admin/clusters',
    {
      schema: {
        summary: 'The clusters behind this V-Kube: health, Lease, regions, capacity',
        description: 'One entry per cluster (VKUBE_KUBECONFIGS or `clusters:` in VKUBE_CONFIG; one for a single KUBECONFIG). `conflicts` lists regions found in two clusters, which neither serves.',
        tags: ['admin'],
        response: { 200: Type.Object({ clusters: Type.Array(ClusterView), conflicts: Type.Array(Type.String()) }), ...errorResponses(401) },
      },
    },
    async () => deps.clusters.list(),
  );
};
