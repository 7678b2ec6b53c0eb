/** The customer's view of its order over time: deploy history and rollback, usage history for graphs. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Authenticator } from '../../domain/authenticator.js';
import type { DeployHistoryService } from '../../domain/deploy-history.js';
import type { UsageHistoryService } from '../../domain/usage-history.js';
import { DEPLOY_HISTORY_KEPT } from '../../store/types.js';
import { orderOf, tenantOnly } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { DeployResult, errorResponses, validatedByDomain } from '../schemas.js';
import { SecretHeader } from './tenant.js';

export interface CustomerViewRouteDeps {
  auth: Authenticator;
  limiter: ClientLimiter;
  deployHistory: DeployHistoryService;
  usageHistory: UsageHistoryService;
}

const Port = Type.Object({ containerPort: Type.Integer(), hostPort: Type.Optional(Type.Integer()), protocol: Type.String() });

const DeployHistory = Type.Object(
  {
    kept: Type.Integer({ description: 'how many past specs an order keeps' }),
    entries: Type.Array(
      Type.Object({
        generation: Type.Integer({ description: 'the generation the deploy recorded (what its answer said); roll back with it' }),
        createdAt: Type.Integer({ description: 'unix seconds' }),
        time: Type.String({ format: 'date-time' }),
        region: Type.String(),
        current: Type.Boolean({ description: 'the spec deployed now' }),
        containers: Type.Array(Type.Object({ name: Type.String(), image: Type.String(), ports: Type.Array(Port), memoryBytes: Type.Integer() })),
        summary: Type.String({ description: 'one line: each container with its image and ports, e.g. "web: nginx:1.27, 80→41234/TCP"' }),
      }),
      { description: 'newest first' },
    ),
  },
  { $id: 'DeployHistory' },
);

const RollbackBody = Type.Object({ generation: Type.Integer({ minimum: 1, maximum: 2 ** 31, description: 'a generation GET /k8s/deployment/history lists' }) }, { $id: 'RollbackBody' });
const RollbackResult = Type.Object({ ...DeployResult.properties, rolledBackTo: Type.Integer({ description: 'the generation whose spec was deployed again' }) });

const Point = Type.Tuple([Type.Integer({ description: 'unix seconds' }), Type.Number()]);
const Series = (description: string) => Type.Array(Point, { description });

const UsageHistory = Type.Object(
  {
    minutes: Type.Integer(),
    intervalSeconds: Type.Integer({ description: 'how often samples are taken (VKUBE_USAGE_INTERVAL_SECONDS)' }),
    retentionHours: Type.Integer({ description: 'how long samples are kept (VKUBE_USAGE_RETENTION_HOURS)' }),
    from: Type.Integer({ description: 'unix seconds' }),
    to: Type.Integer({ description: 'unix seconds' }),
    containers: Type.Array(
      Type.Object({
        name: Type.String(),
        limits: Type.Object({ cpu: Type.Number({ description: 'cores' }), memory: Type.Integer({ description: 'bytes' }) }, { description: "the container's limits in the deployed spec" }),
        cpu: Series('[unix seconds, cores]'),
        memory: Series('[unix seconds, bytes]'),
      }),
    ),
    network: Type.Object({ download: Series('[unix seconds, bytes/s] received by the pod'), upload: Series('[unix seconds, bytes/s] sent by the pod') }),
  },
  { $id: 'UsageHistory' },
);

export const customerViewRoutes: FastifyPluginAsyncTypebox<CustomerViewRouteDeps> = async (app, deps) => {
  tenantOnly(app, deps.auth, deps.limiter);

  app.get(
    '/k8s/deployment/history',
    {
      schema: {
        summary: 'The specs this order was deployed with, newest first',
        description: `Every deploy, update, image or config change records the whole spec with the generation it got; the last ${DEPLOY_HISTORY_KEPT} are kept. Registry passwords are never shown.`,
        tags: ['tenant'],
        headers: SecretHeader,
        response: { 200: DeployHistory, ...errorResponses(401, 503) },
      },
    },
    async (request) => deps.deployHistory.list(orderOf(request)),
  );

  app.post(
    '/k8s/deployment/rollback',
    {
      schema: {
        summary: 'Deploy a past spec again',
        description:
          'Deploys the spec of that generation (with its registry credentials) through the same path and checks as a deploy: region, units, reserved ports, images in their registry, host ports free now. ' +
          'It becomes the newest entry of the history. 404 names a generation the history does not hold.',
        tags: ['tenant'],
        headers: SecretHeader,
        body: RollbackBody,
        response: { 200: RollbackResult, ...errorResponses(400, 401, 403, 404, 409, 503) },
      },
      ...validatedByDomain,
    },
    async (request) => deps.deployHistory.rollback(orderOf(request), request.body),
  );

  app.get(
    '/k8s/monitor/history',
    {
      schema: {
        summary: "Usage over time: each container's CPU and memory with its limits, and the pod's network",
        description:
          'Sampled every VKUBE_USAGE_INTERVAL_SECONDS (30 s) while the pod runs, from the metrics API and the kubelet (the readings of /monitor), and kept VKUBE_USAGE_RETENTION_HOURS (24 h). ' +
          'A value the cluster could not give is left out of its series; a stopped pod leaves a gap. `minutes` from 1 to the retention, default 60.',
        tags: ['tenant'],
        headers: SecretHeader,
        querystring: Type.Object({ minutes: Type.Optional(Type.String({ description: 'whole minutes back from now, default 60' })) }),
        response: { 200: UsageHistory, ...errorResponses(400, 401, 503) },
      },
      ...validatedByDomain,
    },
    async (request) => deps.usageHistory.history(orderOf(request), request.query),
  );
};
