/** The provider's webhooks (admin API): register, list, delete, and see each one's deliveries. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { InputError } from '../../kernel/errors.js';
import { EVENT_TYPES } from '../../domain/notify/events.js';
import type { WebhookService } from '../../domain/notify/webhooks.js';
import { adminAuth } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { errorResponses, validatedByDomain } from '../schemas.js';
import { webhookBody } from '../body-schemas.js';

export interface WebhookRouteDeps {
  webhooks: WebhookService;
  adminToken: string | undefined;
  limiter: ClientLimiter;
}

const EventType = Type.Union(EVENT_TYPES.map((t) => Type.Literal(t)));
const WebhookView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String(), { description: '[] means every event' }),
  createdAt: Type.Integer({ description: 'unix seconds' }),
});
const DeliveryView = Type.Object({
  id: Type.String({ description: 'the X-VKube-Delivery header of its attempts' }),
  eventId: Type.String({ description: 'the body\'s "id"; the same for every webhook told of the event' }),
  type: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('dead')], { description: 'dead: gave up after VKUBE_NOTIFY_MAX_ATTEMPTS' }),
  attempts: Type.Integer(),
  nextAt: Type.Integer({ description: 'unix milliseconds of the next attempt (pending)' }),
  lastError: Type.String(),
  lastStatus: Type.Union([Type.Integer(), Type.Null()], { description: "the receiver's HTTP status of the last attempt" }),
  createdAt: Type.Integer({ description: 'unix milliseconds' }),
  deliveredAt: Type.Union([Type.Integer(), Type.Null()], { description: 'unix milliseconds' }),
});
const IdParams = Type.Object({ id: Type.String() });
const delivery =
  'Each event is POSTed as `{"id","type","createdAt","order":{…},"data":{…}}` with headers `X-VKube-Event` (the type), `X-VKube-Delivery` (the delivery id) and ' +
  '`X-VKube-Signature: sha256=<hex HMAC-SHA256 of the raw body with the webhook\'s secret>`. Any 2xx is success; anything else, no answer within VKUBE_NOTIFY_TIMEOUT_MS ' +
  'or a redirect is retried with exponential back-off and dead-lettered after VKUBE_NOTIFY_MAX_ATTEMPTS. The URL must be http(s) and public unless VKUBE_WEBHOOK_PRIVATE_TARGETS allows it.';

export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRouteDeps> = async (app, deps) => {
  app.addHook('preHandler', adminAuth(deps.adminToken, deps.limiter));
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, security: [{ admin: [] }] };
  });
  const tags = ['admin'];

  app.post(
    '/admin/webhooks',
    {
      schema: {
        summary: 'Register a webhook',
        description: delivery,
        tags,
        body: webhookBody(EventType),
        response: { 201: WebhookView, ...errorResponses(400, 401) },
      },
      ...validatedByDomain,
    },
    async (request, reply) => reply.code(201).send(await deps.webhooks.create(request.body)),
  );

  app.get('/admin/webhooks', { schema: { summary: 'The registered webhooks', tags, response: { 200: Type.Object({ items: Type.Array(WebhookView) }), ...errorResponses(401) } } }, async () => ({
    items: await deps.webhooks.list(),
  }));

  app.delete(
    '/admin/webhooks/:id',
    { schema: { summary: 'Delete a webhook (its pending deliveries are dropped)', tags, params: IdParams, response: { 200: Type.Object({ id: Type.String(), deleted: Type.Literal(true) }), ...errorResponses(401, 404) } } },
    async (request) => {
      await deps.webhooks.delete(request.params.id);
      return { id: request.params.id, deleted: true as const };
    },
  );

  app.get(
    '/admin/webhooks/:id/deliveries',
    {
      schema: {
        summary: "A webhook's deliveries, newest first: delivered, pending (with the next attempt) and dead-lettered",
        tags,
        params: IdParams,
        querystring: Type.Object({ status: Type.Optional(Type.String()), limit: Type.Optional(Type.String()), offset: Type.Optional(Type.String()) }),
        response: { 200: Type.Object({ items: Type.Array(DeliveryView), total: Type.Integer() }), ...errorResponses(400, 401, 404) },
      },
      ...validatedByDomain,
    },
    async (request) => {
      const q = (request.query ?? {}) as Record<string, string | undefined>;
      return deps.webhooks.deliveries(request.params.id, {
        limit: intParam(q.limit, 'limit', 100, 1, 1000),
        offset: intParam(q.offset, 'offset', 0, 0, 1e9),
        ...(q.status !== undefined ? { status: q.status } : {}),
      });
    },
  );
};

function intParam(value: string | undefined, field: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new InputError(`must be an integer from ${min} to ${max}`, field);
  return Number(value);
}
