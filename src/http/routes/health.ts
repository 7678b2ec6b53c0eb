/** Liveness and readiness, for the orchestrator that runs V-Kube. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Readiness } from '../../domain/readiness.js';

export interface HealthRouteDeps {
  readiness: Pick<Readiness, 'check'>;
}

const Checks = Type.Object(
  {
    database: Type.String(),
    cluster: Type.String(),
    sources: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description:
          'Each source of cluster state on its own: the watch caches (nodes, pods, namespaces, deployments, claims, events) and the API server heartbeat. "ok", or why not; a source marked "(optional)" — events — does not make V-Kube unready: deploys and status go on, the activity log lags. With several clusters each is prefixed with its cluster ("east/pods").',
      }),
    ),
    clusters: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description:
          'Several clusters behind this V-Kube: each one by name, "ok" or why not. V-Kube stays ready while any cluster is: the others serve as usual, and calls for the orders of a cluster that is not ok answer 503 naming their region.',
      }),
    ),
  },
  { description: '"ok", or why not' },
);

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRouteDeps> = async (app, deps) => {
  app.get(
    '/healthz',
    { schema: { summary: 'The process is alive', tags: ['health'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Ready to serve: database reachable and cluster caches synced',
        description: 'When not ready: 503 with the error envelope and the state of each check.',
        tags: ['health'],
        response: {
          200: Type.Object({ status: Type.Literal('ready'), checks: Checks }),
          503: Type.Object({ error: Type.Object({ code: Type.Integer(), message: Type.String() }), checks: Checks }),
        },
      },
    },
    async (_request, reply) => {
      const { ready, checks, failing } = await deps.readiness.check();
      if (ready) return { status: 'ready' as const, checks };
      return reply.code(503).send({ error: { code: 503, message: `not ready: ${failing}` }, checks });
    },
  );
};
