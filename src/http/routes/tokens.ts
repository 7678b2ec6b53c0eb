/** Access tokens: the order's owner hands out extra credentials, and takes them back. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Authenticator } from '../../domain/authenticator.js';
import { SecretHeader, principalOf, tenantOnly } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { errorResponses, validatedByDomain } from '../schemas.js';
import { TokenBody } from '../body-schemas.js';

export interface TokenRouteDeps {
  auth: Authenticator;
  limiter: ClientLimiter;
}

const TokenView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.Integer({ description: 'unix seconds' }),
  expiresAt: Type.Union([Type.Integer(), Type.Null()], { description: 'unix seconds; null: never' }),
  active: Type.Boolean(),
  lastUsedAt: Type.Union([Type.Integer(), Type.Null()]),
});
const IdParams = Type.Object({ id: Type.String() });

export const tokenRoutes: FastifyPluginAsyncTypebox<TokenRouteDeps> = async (app, deps) => {
  tenantOnly(app, deps.auth, deps.limiter);
  const tags = ['tenant'];
  const ownerOnly = "Only the order's secret may manage its access tokens (403 for an access token).";

  app.post(
    '/k8s/tokens',
    {
      schema: {
        summary: 'Create an access token for this order (shown once)',
        description: `An access token opens the order's tenant API like its secret, until it expires or is deactivated. ${ownerOnly}`,
        tags,
        headers: SecretHeader,
        body: TokenBody,
        response: { 201: Type.Object({ token: Type.String({ description: 'vkt_…; V-Kube keeps only a hash' }), accessToken: TokenView }), ...errorResponses(400, 401, 403) },
      },
      ...validatedByDomain,
    },
    async (request, reply) => {
      const { token, view } = await deps.auth.createToken(principalOf(request), request.body);
      return reply.code(201).send({ token, accessToken: view });
    },
  );

  app.get(
    '/k8s/tokens',
    { schema: { summary: "This order's access tokens", description: ownerOnly, tags, headers: SecretHeader, response: { 200: Type.Object({ items: Type.Array(TokenView) }), ...errorResponses(401, 403) } } },
    async (request) => ({ items: await deps.auth.listTokens(principalOf(request)) }),
  );

  app.post(
    '/k8s/tokens/:id/deactivate',
    { schema: { summary: 'Deactivate an access token (it stops working at once)', description: ownerOnly, tags, headers: SecretHeader, params: IdParams, response: { 200: Type.Object({ status: Type.String() }), ...errorResponses(401, 403, 404) } } },
    async (request) => {
      await deps.auth.deactivateToken(principalOf(request), request.params.id);
      return { status: 'OK' };
    },
  );

  app.delete(
    '/k8s/tokens/:id',
    { schema: { summary: 'Delete an access token', description: ownerOnly, tags, headers: SecretHeader, params: IdParams, response: { 200: Type.Object({ status: Type.String() }), ...errorResponses(401, 403, 404) } } },
    async (request) => {
      await deps.auth.deleteToken(principalOf(request), request.params.id);
      return { status: 'OK' };
    },
  );
};
