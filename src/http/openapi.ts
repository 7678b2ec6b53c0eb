/**
 * The OpenAPI 3.1 document, generated from the routes' schemas (so it cannot drift
 * from what the server validates and returns), served at /openapi.json, with a
 * readable reference at /docs. The SDK in src/sdk/ is generated from it.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { Endpoint, ErrorEnvelope, ProbeBody } from './schemas.js';

export const API_VERSION = '1.0.0';

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'V-Kube API',
        version: API_VERSION,
        description:
          'Sell containers on your own Kubernetes cluster. Every error answers `{"error":{"code":<status>,"message":"…"}}`; ' +
          'messages name the offending field (`containers[0].ports[1].hostPort: …`). Tenant calls carry the order secret ' +
          "(or the original clients' token) in the `secret` header; the provider's admin calls carry `Authorization: Bearer <VKUBE_ADMIN_TOKEN>`.",
      },
      tags: [
        { name: 'seed', description: 'The seed API (DESIGN.md section 2)' },
        { name: 'clients', description: "The original clients' API (DESIGN.md section 3)" },
        { name: 'tenant', description: "A customer's own order: events, access tokens" },
        { name: 'admin', description: "The provider's admin API" },
        { name: 'health', description: 'Liveness, readiness, metrics' },
      ],
      components: {
        securitySchemes: {
          secret: { type: 'apiKey', in: 'header', name: 'secret', description: "The order's secret, or the original clients' token" },
          admin: { type: 'http', scheme: 'bearer', description: 'VKUBE_ADMIN_TOKEN' },
          wallet: { type: 'apiKey', in: 'header', name: 'signature', description: 'A V Systems wallet signature, as the original market CLI makes it (with headers address, public-key, x-sdk-time)' },
        },
      },
    },
    // Shared schemas keep their $id as the component name instead of def-N.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  app.addSchema(ErrorEnvelope);
  // Both deploy bodies carry three probes each: one component instead of six copies.
  app.addSchema(ProbeBody);
  // Pod status and the deploy answer both list where the app is reached.
  app.addSchema(Endpoint);
  // Any route can fail unexpectedly; say so, in the envelope, everywhere.
  app.addHook('onRoute', (route) => {
    if (route.schema?.hide) return;
    const response = (route.schema?.response ?? {}) as Record<string, unknown>;
    route.schema = { ...route.schema, response: { ...response, 500: { ...Type.Ref('ErrorEnvelope'), description: 'internal error: a bug, and it is logged' } } };
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true, defaultModelsExpandDepth: 0 } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
