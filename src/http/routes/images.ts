/**
 * Images: does one exist in its registry (the seed's `GET /k8s/images`, no secret), and
 * new images for the pod's containers (the original clients' `PATCH /k8s/pod/images`).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Authenticator } from '../../domain/authenticator.js';
import type { WorkloadUpdateService } from '../../domain/workload-updates.js';
import { InputError, UpstreamError } from '../../kernel/errors.js';
import { referenceFromImageAndTag } from '../../registry/reference.js';
import { BLOCKED_REASON, type ImageRegistry, type RegistryCredentials } from '../../registry/types.js';
import { orderOf, tenantOnly } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { Ok, clientsDoc as doc } from '../clients-api.js';
import { sendError } from '../errors.js';
import { errorResponses, validatedByDomain } from '../schemas.js';
import { ImagesBody } from '../body-schemas.js';

export interface ImageRouteDeps {
  registry: ImageRegistry;
  auth: Authenticator;
  limiter: ClientLimiter;
  updates: WorkloadUpdateService;
}

const IMAGE_FORMAT = 'image format not allow.Format: image:tag';

/** The seed's image check: no secret. */
const imageCheckRoutes: FastifyPluginAsyncTypebox<ImageRouteDeps> = async (app, deps) => {
  app.get(
    '/k8s/images',
    {
      schema: {
        summary: 'Does an image exist?',
        description:
          'Checks `image:tag` in its registry (Docker Hub by default). Private registries: `Username` and `Password` headers, each base64. ' +
          'A registry on a loopback, private, link-local or cluster address that the provider has not allowed is not contacted: 400 "image registry not allowed".',
        tags: ['seed'],
        querystring: Type.Object({ image: Type.Optional(Type.String()), tag: Type.Optional(Type.String()) }),
        headers: Type.Object({ username: Type.Optional(Type.String()), password: Type.Optional(Type.String()) }),
        response: { 200: Type.Object({ status: Type.Literal('OK') }), ...errorResponses(400, 403, 404, 502) },
      },
      ...validatedByDomain,
    },
    async (request, reply) => {
      const q = (request.query ?? {}) as Record<string, unknown>;
      if (typeof q.image !== 'string' || typeof q.tag !== 'string' || !q.image || !q.tag) return sendError(reply, 400, IMAGE_FORMAT);
      let canonical: string;
      try {
        canonical = referenceFromImageAndTag(q.image, q.tag).canonical;
      } catch {
        return sendError(reply, 400, IMAGE_FORMAT);
      }
      const result = await deps.registry.check(canonical, credentialsFrom(request.headers));
      switch (result.status) {
        case 'exists':
          return { status: 'OK' as const };
        case 'missing':
          return sendError(reply, 404, 'image does not exist.');
        case 'denied':
          return sendError(reply, 403, `the registry refused these credentials: ${result.detail}`);
        case 'unreachable':
          throw new UpstreamError(`the image registry could not be reached: ${result.detail}`);
        case 'blocked':
          // The same words whatever the address and whether anything listens there: the
          // detail (which address, why) is in the provider's log.
          return sendError(reply, 400, `image registry not allowed: ${BLOCKED_REASON}`);
      }
    },
  );
};

/** The original clients' image change: behind the order's secret. */
const podImageRoutes: FastifyPluginAsyncTypebox<ImageRouteDeps> = async (app, deps) => {
  tenantOnly(app, deps.auth, deps.limiter);

  app.patch(
    '/k8s/pod/images',
    {
      ...doc('New images, one per container in order; each is checked in its registry first', {
        body: ImagesBody,
        response: { 200: Ok, ...errorResponses(400, 401, 403, 404, 503) },
      }),
      ...validatedByDomain,
    },
    async (request) => {
      const { spec, warnings, outcome } = await deps.updates.updateImages(orderOf(request), request.body);
      return { status: 'OK', images: spec.containers.map((c) => c.image), warnings, generation: outcome.generation, applied: outcome.applied };
    },
  );
};

export const imageRoutes: FastifyPluginAsyncTypebox<ImageRouteDeps> = async (app, deps) => {
  await app.register(imageCheckRoutes, deps);
  await app.register(podImageRoutes, deps);
};

/** `Username` / `Password` headers, each base64 as the original clients send them. */
function credentialsFrom(headers: Record<string, string | string[] | undefined>): RegistryCredentials | undefined {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const username = one(headers.username);
  const password = one(headers.password);
  if (!username && !password) return undefined;
  const decode = (v: string | undefined, field: string) => {
    if (!v) return '';
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new InputError('must be base64', field);
    return Buffer.from(v, 'base64').toString('utf8');
  };
  return { username: decode(username, 'Username'), password: decode(password, 'Password') };
}
