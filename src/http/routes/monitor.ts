/**
 * What the pod uses: now (the original clients' `GET /monitor`) and over time for graphs
 * (`GET /k8s/monitor/history`). Behind the order's secret.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Authenticator } from '../../domain/authenticator.js';
import type { MonitorQuery, MonitorService } from '../../domain/monitor.js';
import type { UsageHistoryService } from '../../domain/usage-history.js';
import { InputError } from '../../kernel/errors.js';
import { SecretHeader, orderOf, tenantOnly } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { AnyObject, clientsDoc as doc } from '../clients-api.js';
import { sendPlainJson } from '../plain-json.js';
import { errorResponses, validatedByDomain } from '../schemas.js';

export interface MonitorRouteDeps {
  auth: Authenticator;
  limiter: ClientLimiter;
  monitor: MonitorService;
  usageHistory: UsageHistoryService;
}

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

export const monitorRoutes: FastifyPluginAsyncTypebox<MonitorRouteDeps> = async (app, deps) => {
  tenantOnly(app, deps.auth, deps.limiter);

  app.get(
    '/monitor',
    {
      ...doc('What the containers use now: CPU (cores), memory (bytes, with limit), network (bytes/s), storage (bytes); what cannot be read yet (no usage sample in the first seconds of a pod) is 0 and named in `unavailable`', {
        querystring: Type.Object({
          allTypes: Type.Optional(Type.String()),
          types: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
          containers: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
          allContainers: Type.Optional(Type.String()),
        }),
        response: { 200: AnyObject, ...errorResponses(400, 401, 404, 503) },
      }),
      ...validatedByDomain,
    },
    async (request, reply) => sendPlainJson(reply, await deps.monitor.monitor(orderOf(request), parseMonitorQuery(request.query))),
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

/** Query values as Python clients send them: `True`, and repeated keys for lists. */
export function parseMonitorQuery(query: unknown): MonitorQuery {
  const q = (query ?? {}) as Record<string, unknown>;
  const list = (v: unknown): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((s) => s.trim()).filter(Boolean));
  const flag = (name: string): boolean => {
    const v = Array.isArray(q[name]) ? (q[name] as unknown[])[0] : q[name];
    if (v === undefined || v === '') return false;
    if (/^(true|1|yes)$/i.test(String(v))) return true;
    if (/^(false|0|no)$/i.test(String(v))) return false;
    throw new InputError('must be True or False', name);
  };
  return { allTypes: flag('allTypes'), types: list(q.types), containers: list(q.containers), allContainers: flag('allContainers') };
}
