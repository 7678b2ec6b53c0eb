/** What happened to the customer's pods and volume claim, kept by V-Kube beyond Kubernetes' event retention. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { InputError } from '../../kernel/errors.js';
import type { EventStore } from '../../domain/store-port.js';
import type { Authenticator } from '../../domain/authenticator.js';
import { SecretHeader, orderOf, tenantOnly } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { errorResponses, validatedByDomain } from '../schemas.js';

export interface ActivityRouteDeps {
  auth: Authenticator;
  limiter: ClientLimiter;
  events: EventStore;
}

const Event = Type.Object({
  time: Type.Integer({ description: 'unix seconds of the latest occurrence' }),
  firstTime: Type.Integer(),
  type: Type.String({ description: 'Normal or Warning' }),
  reason: Type.String(),
  message: Type.String(),
  count: Type.Integer(),
  object: Type.String({ description: 'what it is about, e.g. Pod/workload-7f9c-abcde, or PersistentVolumeClaim/data for the volume' }),
});

const Restarts = Type.Object({
  pod: Type.String(),
  container: Type.String(),
  restartCount: Type.Integer(),
  lastReason: Type.String({ description: 'e.g. CrashLoopBackOff, OOMKilled, Error' }),
  lastExitCode: Type.Union([Type.Integer(), Type.Null()]),
  updatedAt: Type.Integer(),
});

export const activityRoutes: FastifyPluginAsyncTypebox<ActivityRouteDeps> = async (app, deps) => {
  tenantOnly(app, deps.auth, deps.limiter);

  app.get(
    '/k8s/events',
    {
      schema: {
        summary: "The events of the order's pods and volume claim, and restart counts, newest first, kept after Kubernetes drops them",
        tags: ['tenant'],
        headers: SecretHeader,
        querystring: Type.Object({ limit: Type.Optional(Type.String({ description: '1 to 500, default 100' })) }),
        response: { 200: Type.Object({ events: Type.Array(Event), restarts: Type.Array(Restarts) }), ...errorResponses(400, 401, 503) },
      },
      ...validatedByDomain,
    },
    async (request) => {
      const raw = (request.query as { limit?: string } | undefined)?.limit;
      if (raw !== undefined && (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 500)) throw new InputError('must be an integer from 1 to 500', 'limit');
      const order = orderOf(request);
      const [events, restarts] = await Promise.all([deps.events.recentEvents(order.id, raw ? Number(raw) : 100), deps.events.restarts(order.id)]);
      return {
        events: events.map((e) => ({ time: e.lastSeen, firstTime: e.firstSeen, type: e.type, reason: e.reason, message: e.message, count: e.count, object: e.object })),
        restarts: restarts.map((r) => ({ pod: r.pod, container: r.container, restartCount: r.restartCount, lastReason: r.lastReason, lastExitCode: r.lastExitCode, updatedAt: r.updatedAt })),
      };
    },
  );
};
