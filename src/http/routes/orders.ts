/**
 * The order: the seed's `GET /k8s/order` and the original clients' `GET /k8s/userService`
 * (behind its secret), and `GET /userService/{id}`, its secret sealed to the buyer (no
 * secret). The provider's side of orders is in admin.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { UnitCatalogue } from '../../config.js';
import type { Authenticator } from '../../domain/authenticator.js';
import type { ContactService } from '../../domain/notify/contacts.js';
import type { OrderService } from '../../domain/orders.js';
import { SecretHeader, orderOf, tenantOnly } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { AnyObject, clientsDoc as doc } from '../clients-api.js';
import { orderView, userServiceView } from '../order-views.js';
import { Order, errorResponses } from '../schemas.js';

export interface OrderRouteDeps {
  units: UnitCatalogue;
  auth: Authenticator;
  limiter: ClientLimiter;
  orders: OrderService;
  /** The e-mail bound through the contact API, shown as the service's `email`. */
  contacts?: Pick<ContactService, 'get'>;
}

/** Behind the order's secret: the seed's view and the original clients' view of the same order. */
const ownOrderRoutes: FastifyPluginAsyncTypebox<OrderRouteDeps> = async (app, deps) => {
  tenantOnly(app, deps.auth, deps.limiter);

  app.get(
    '/k8s/order',
    { schema: { summary: 'The order the secret belongs to', tags: ['seed'], headers: SecretHeader, response: { 200: Order, ...errorResponses(401, 500) } } },
    async (request) => orderView(orderOf(request)),
  );

  app.get('/k8s/userService', doc('The service behind the secret: status, timestamps, and what its units add up to', { response: { 200: AnyObject, ...errorResponses(401) } }), async (request) => {
    const order = orderOf(request);
    // The clients show `email`: the address bound with the contact API, else the one the order was placed with.
    const bound = await deps.contacts?.get({ kind: 'service', id: order.id });
    return { ...userServiceView(order, deps.units), ...(bound ? { email: bound.contact } : {}) };
  });
};

/** The original clients' calls that carry no secret. */
const sealedSecretRoutes: FastifyPluginAsyncTypebox<OrderRouteDeps> = async (app, deps) => {
  app.get(
    '/userService/:id',
    {
      schema: {
        summary: "An order's options and its secret sealed to the buyer's public key",
        description: '`magic` is base58 of a libsodium sealed box of `{"Secret": …}` to the order\'s `publicKey`; only the buyer can open it.',
        tags: ['clients'],
        params: Type.Object({ id: Type.String() }),
        response: { 200: Type.Object({ id: Type.String(), serviceOptions: Type.Record(Type.String(), Type.String()), magic: Type.String() }), ...errorResponses(404) },
      },
    },
    async (request) => deps.orders.publicView(request.params.id),
  );
};

export const orderRoutes: FastifyPluginAsyncTypebox<OrderRouteDeps> = async (app, deps) => {
  await app.register(ownOrderRoutes, deps);
  await app.register(sealedSecretRoutes, deps);
};
