/** Liveness and readiness, for the orchestrator that runs V-Kube. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ClusterHealth, ClusterReader } from '../../cluster/gateway.js';
import type { Store } from '../../domain/store-port.js';

export interface HealthRouteDeps {
  store: Store;
  cluster: ClusterReader;
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
      const database = await deps.store.ping().then(
        () => 'ok',
        (err: unknown) => `unreachable: ${(err as Error).message}`,
      );
      const h = deps.cluster.health();
      const cluster = describe(h);
      const sources = Object.fromEntries(
        Object.entries(h.sources ?? {}).map(([name, s]) => [name, s.live ? 'ok' : `${s.essential ? '' : '(optional) '}${s.synced ? 'down' : 'not synced yet'}${s.lastError ? `: ${s.lastError}` : ''}`]),
      );
      const clusters = h.clusters ? Object.fromEntries(Object.entries(h.clusters).map(([name, c]) => [name, describe(c)])) : undefined;
      const checks = { database, cluster, ...(h.sources ? { sources } : {}), ...(clusters ? { clusters } : {}) };
      if (database === 'ok' && cluster === 'ok') return { status: 'ready' as const, checks };
      const failing = Object.entries({ database, cluster }).filter(([, v]) => v !== 'ok').map(([k, v]) => `${k} ${v}`);
      return reply.code(503).send({ error: { code: 503, message: `not ready: ${failing.join('; ')}` }, checks });
    },
  );
};

function describe(h: ClusterHealth): string {
  return h.synced && h.reachable ? 'ok' : h.synced ? `unreachable: ${h.detail ?? ''}` : `not synced yet${h.detail ? `: ${h.detail}` : ''}`;
}
