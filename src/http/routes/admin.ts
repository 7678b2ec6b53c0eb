/** The provider's admin API: create, list, renew, abort orders and rotate their secrets. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { InputError } from '../../kernel/errors.js';
import type { OrderService } from '../../domain/orders.js';
import { tokenFor } from '../../domain/secrets.js';
import { adminOrderView, orderView } from '../order-views.js';
import type { ServiceStatus } from '../../domain/records.js';
import type { AuditStore } from '../../domain/store-port.js';
import { adminAuth } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { Order, errorResponses, validatedByDomain } from '../schemas.js';
import { NewOrderBody, RenewBody } from '../body-schemas.js';

export interface AdminRouteDeps {
  orders: OrderService;
  audit: AuditStore;
  adminToken: string | undefined;
  limiter: ClientLimiter;
  /** Public URL of this API, for the clients' token; defaults to the request's Host. */
  publicHost?: string;
}

const AdminOrder = Type.Intersect([Order, Type.Object({ serviceStatus: Type.String(), endAt: Type.Union([Type.Integer(), Type.Null()]), region: Type.String(), units: Type.Integer() })], {
  $id: 'AdminOrder',
});

const Created = Type.Object({
  order: Order,
  secret: Type.String({ description: 'shown once; V-Kube keeps only a hash' }),
  token: Type.String({ description: "the original clients' token: base58 of \"<api host>:<secret>\"" }),
});

const STATUSES: ServiceStatus[] = ['ServicePending', 'ServiceRunning', 'ServiceStop', 'ServiceDone', 'ServiceAbort'];

export const adminRoutes: FastifyPluginAsyncTypebox<AdminRouteDeps> = async (app, deps) => {
  app.addHook('preHandler', adminAuth(deps.adminToken, deps.limiter));
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, security: [{ admin: [] }] };
  });
  const idParams = Type.Object({ id: Type.String() });
  auditRoute(app, deps);
  const host = (h: string | undefined) => deps.publicHost ?? h ?? 'localhost';

  app.post(
    '/admin/orders',
    {
      schema: {
        summary: 'Create an order',
        tags: ['admin'],
        body: NewOrderBody,
        response: { 201: Created, ...errorResponses(400, 401) },
      },
      config: { bodyContract: { words: (request) => deps.orders.check(request.body) } },
      ...validatedByDomain,
    },
    async (request, reply) => {
      const { order, secret } = await deps.orders.create(request.body);
      return reply.code(201).send({ order: orderView(order), secret, token: tokenFor(host(request.headers.host), secret) });
    },
  );

  app.get(
    '/admin/orders',
    {
      schema: {
        summary: 'List orders, newest first',
        tags: ['admin'],
        querystring: Type.Object({ limit: Type.Optional(Type.String()), offset: Type.Optional(Type.String()), status: Type.Optional(Type.String()) }),
        response: { 200: Type.Object({ items: Type.Array(AdminOrder), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }), ...errorResponses(400, 401) },
      },
      ...validatedByDomain,
    },
    async (request) => {
      const q = (request.query ?? {}) as Record<string, string | undefined>;
      const limit = intParam(q.limit, 'limit', 50, 1, 500);
      const offset = intParam(q.offset, 'offset', 0, 0, 1e9);
      if (q.status !== undefined && !STATUSES.includes(q.status as ServiceStatus)) throw new InputError(`must be one of ${STATUSES.join(', ')}`, 'status');
      const page = await deps.orders.list({ limit, offset, ...(q.status ? { status: q.status as ServiceStatus } : {}) });
      return { items: page.items.map(adminOrderView), total: page.total, limit, offset };
    },
  );

  app.get(
    '/admin/orders/:id',
    { schema: { summary: 'One order', tags: ['admin'], params: idParams, response: { 200: AdminOrder, ...errorResponses(401, 404) } } },
    async (request) => adminOrderView(await deps.orders.get(request.params.id)),
  );

  app.post(
    '/admin/orders/:id/renew',
    {
      schema: {
        summary: 'Add hours to an order',
        description: 'A running service keeps running untouched; its expiry moves by the added hours.',
        tags: ['admin'],
        params: idParams,
        body: RenewBody,
        response: { 200: AdminOrder, ...errorResponses(400, 401, 404, 409) },
      },
      ...validatedByDomain,
    },
    async (request) => {
      const body = (request.body ?? {}) as { duration?: unknown };
      return adminOrderView(await deps.orders.renew(request.params.id, body.duration));
    },
  );

  app.post(
    '/admin/orders/:id/abort',
    {
      schema: {
        summary: 'Abort an order: tear its workload down and free its ports',
        tags: ['admin'],
        params: idParams,
        response: { 200: AdminOrder, ...errorResponses(401, 404, 409, 503) },
      },
    },
    async (request) => adminOrderView(await deps.orders.abort(request.params.id)),
  );

  app.post(
    '/admin/orders/:id/secret',
    {
      schema: {
        summary: "Rotate an order's secret (the old one stops working at once)",
        tags: ['admin'],
        params: idParams,
        response: { 200: Created, ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const { order, secret } = await deps.orders.rotateSecret(request.params.id);
      return { order: orderView(order), secret, token: tokenFor(host(request.headers.host), secret) };
    },
  );
};

const AuditEntry = Type.Object({
  at: Type.Integer({ description: 'unix seconds' }),
  actor: Type.String({ description: 'admin, order:<id>, token:<id> or anonymous' }),
  orderId: Type.Union([Type.String(), Type.Null()]),
  action: Type.String({ description: 'METHOD /route' }),
  outcome: Type.Integer({ description: 'HTTP status answered' }),
  client: Type.String(),
  requestId: Type.String(),
  detail: Type.Union([Type.String(), Type.Null()], { description: 'what the entry was about beyond the route, as JSON: the command of a one-shot exec, the container, command or port of a session, and at its end how long it lasted and why it ended; never output or credentials' }),
});

/** Registered inside adminRoutes (same auth); kept apart for reading. */
export function auditRoute(app: Parameters<FastifyPluginAsyncTypebox<AdminRouteDeps>>[0], deps: AdminRouteDeps): void {
  app.get(
    '/admin/audit',
    {
      schema: {
        summary: 'The audit log: every change made through the API, newest first',
        tags: ['admin'],
        querystring: Type.Object({ orderId: Type.Optional(Type.String()), limit: Type.Optional(Type.String()), offset: Type.Optional(Type.String()) }),
        response: { 200: Type.Object({ items: Type.Array(AuditEntry), total: Type.Integer() }), ...errorResponses(400, 401) },
      },
      ...validatedByDomain,
    },
    async (request) => {
      const q = (request.query ?? {}) as Record<string, string | undefined>;
      const page = await deps.audit.listAudit({
        ...(q.orderId ? { orderId: q.orderId } : {}),
        limit: intParam(q.limit, 'limit', 100, 1, 1000),
        offset: intParam(q.offset, 'offset', 0, 0, 1e9),
      });
      return { items: page.items.map(({ id: _id, ...e }) => ({ ...e, detail: e.detail ?? null })), total: page.total };
    },
  );
}

function intParam(value: string | undefined, field: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new InputError(`must be an integer from ${min} to ${max}`, field);
  return Number(value);
}
