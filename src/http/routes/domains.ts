/** Custom domains routed to the pod (the original clients' `/k8s/pod/ingress`). Behind the order's secret. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Authenticator } from '../../domain/authenticator.js';
import type { DomainService } from '../../domain/custom-domains.js';
import { orderOf, tenantOnly } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { clientsDoc as doc } from '../clients-api.js';
import { errorResponses, validatedByDomain } from '../schemas.js';
import { IngressAddBody, IngressPatchBody } from '../body-schemas.js';

export interface DomainRouteDeps {
  auth: Authenticator;
  limiter: ClientLimiter;
  domains: DomainService;
}

export const domainRoutes: FastifyPluginAsyncTypebox<DomainRouteDeps> = async (app, deps) => {
  tenantOnly(app, deps.auth, deps.limiter);

  const DomainsOut = Type.Object({ status: Type.String(), domains: Type.Array(Type.Object({ domain: Type.String(), containerPort: Type.Integer(), isHttps: Type.Boolean() })) });
  app.get('/k8s/pod/ingress', doc("The order's custom domains (also while the service is stopped)", { response: { 200: DomainsOut, ...errorResponses(401) } }), async (request) => ({
    status: 'OK',
    domains: await deps.domains.list(orderOf(request)),
  }));
  app.post(
    '/k8s/pod/ingress',
    {
      ...doc('Route a custom domain to a container port (HTTPS via cert-manager with isLetsencrypt)', {
        body: IngressAddBody,
        response: { 200: DomainsOut, ...errorResponses(400, 401, 403, 404, 409) },
      }),
      ...validatedByDomain,
    },
    async (request) => ({ status: 'OK', domains: await deps.domains.add(orderOf(request), request.body) }),
  );
  app.patch(
    '/k8s/pod/ingress',
    {
      ...doc('Add or remove domains', {
        body: IngressPatchBody,
        response: { 200: DomainsOut, ...errorResponses(400, 401, 403, 404, 409) },
      }),
      ...validatedByDomain,
    },
    async (request) => ({ status: 'OK', domains: await deps.domains.patch(orderOf(request), request.body) }),
  );
  app.delete('/k8s/pod/ingress', doc('Remove every domain', { response: { 200: DomainsOut, ...errorResponses(401, 403) } }), async (request) => ({
    status: 'OK',
    domains: await deps.domains.removeAll(orderOf(request)),
  }));
};
