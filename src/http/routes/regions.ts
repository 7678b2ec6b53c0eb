/** Regions: the groups of Ready nodes a customer deploys to (the seed's `GET /k8s/regions`, no secret). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ClusterService } from '../../domain/clusters.js';

export interface RegionRouteDeps {
  clusters: Pick<ClusterService, 'regions'>;
}

export const regionRoutes: FastifyPluginAsyncTypebox<RegionRouteDeps> = async (app, deps) => {
  app.get(
    '/k8s/regions',
    {
      schema: {
        summary: 'Regions with Ready nodes',
        description: 'Distinct values of the region label over Ready nodes, sorted. `[]` when the cluster cannot be reached.',
        tags: ['seed'],
        response: { 200: Type.Array(Type.String(), { examples: [['ausrine', 'giltine']] }) },
      },
    },
    async () => deps.clusters.regions(),
  );
};
