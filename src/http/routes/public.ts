/** Seed endpoints that need no secret: regions, image check, port check. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AuthenticationError, InputError, UpstreamError } from '../../domain/errors.js';
import type { Authenticator } from '../../domain/authenticator.js';
import type { PortService } from '../../domain/ports.js';
import type { ClusterReader } from '../../cluster/gateway.js';
import { referenceFromImageAndTag } from '../../registry/reference.js';
import { BLOCKED_REASON, type ImageRegistry, type RegistryCredentials } from '../../registry/types.js';
import type { OrderRecord } from '../../store/types.js';
import { presentedSecret } from '../auth.js';
import { wordsOf } from '../body-contract.js';
import { CheckPortsBody, PortsStateBody } from '../body-schemas.js';
import { errorResponses, validatedByDomain } from '../schemas.js';
import { sendError } from '../errors.js';

export interface PublicRouteDeps {
  cluster: ClusterReader;
  registry: ImageRegistry;
  ports: PortService;
  auth: Authenticator;
}

const IMAGE_FORMAT = 'image format not allow.Format: image:tag';

export const publicRoutes: FastifyPluginAsyncTypebox<PublicRouteDeps> = async (app, deps) => {
  app.get(
    '/k8s/regions',
    {
      schema: {
        summary: 'Regions with Ready nodes',
        description: 'Distinct values of the region label over Ready nodes, sorted. `[]` when the cluster cannot be reached.',
        tags: ['seed'],
        response: { 200: Type.Array(Type.String(), { examples: [['ausrine', 'giltine']] }) },
      },
    },
    async () => deps.cluster.regions() ?? [],
  );

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

  app.post(
    '/k8s/checkports',
    {
      config: { audit: false, bodyContract: { words: (request) => wordsOf(() => parseCheckPorts(request.body)) } },
      schema: {
        summary: 'Which host ports are taken in a region?',
        description:
          'A port is taken when a pod on one of the region\'s nodes uses it, another order holds it, or the provider reserved it. ' +
          '`userServiceID` (with that order\'s `secret` header) leaves out the ports the caller\'s own order holds.',
        tags: ['seed'],
        body: CheckPortsBody,
        response: {
          200: Type.Object(
            {
              occupied: Type.Array(Type.Integer()),
              status: Type.Union([Type.Literal('NotOccupied'), Type.Literal('PortsOccupied'), Type.Literal('NoResource'), Type.Literal('InternalErr')]),
            },
            { examples: [{ occupied: [22, 3306], status: 'PortsOccupied' }] },
          ),
          ...errorResponses(400),
        },
      },
      ...validatedByDomain,
    },
    async (request) => {
      const { region, ports, userServiceID } = parseCheckPorts(request.body);
      let exceptOrder: string | undefined;
      if (userServiceID) {
        // Only the order's own secret may hide its ports from the answer.
        const order = await ownOrder(deps.auth, presentedSecret(request));
        if (order && (order.id === userServiceID || order.serviceID === userServiceID)) exceptOrder = order.id;
      }
      return deps.ports.check(region, ports, exceptOrder);
    },
  );

  app.post(
    '/k8s/ports/state',
    {
      config: { audit: false, bodyContract: { words: (request) => wordsOf(() => parseCheckPorts(request.body)) } },
      schema: {
        summary: 'How each host port stands for you: free, yours, taken or reserved',
        description:
          'Like POST /k8s/checkports, in words a customer can act on. `reserved`: the provider keeps it (e.g. 22), no order may lease it; ' +
          "`taken`: another order or a pod on the region's nodes holds it; `yours`: the order of the `secret` header holds it (a redeploy keeps it); " +
          '`free`: it can be had. Without a secret no port is `yours`. `status` is as checkports answers it.',
        tags: ['seed'],
        headers: Type.Object({ secret: Type.Optional(Type.String({ description: 'optional: the order whose own ports count as yours' })) }),
        body: PortsStateBody,
        response: {
          200: Type.Object({
            status: Type.Union([Type.Literal('NotOccupied'), Type.Literal('PortsOccupied'), Type.Literal('NoResource'), Type.Literal('InternalErr')]),
            ports: Type.Array(
              Type.Object({ port: Type.Integer(), state: Type.Union([Type.Literal('free'), Type.Literal('yours'), Type.Literal('taken'), Type.Literal('reserved')]) }),
              { description: 'each port asked, once, in the order asked; [] when status is NoResource or InternalErr' },
            ),
          }),
          ...errorResponses(400),
        },
      },
      ...validatedByDomain,
    },
    async (request) => {
      const { region, ports } = parseCheckPorts(request.body);
      const secret = presentedSecret(request);
      const order = secret ? await ownOrder(deps.auth, secret) : undefined;
      return deps.ports.states(region, ports, order?.id);
    },
  );
};

/**
 * The order a secret opens, or none: a missing or wrong secret only means no port is left
 * out of the answer (the check needs no secret). Anything else, such as the database being
 * down, fails the request like any other.
 */
async function ownOrder(auth: Authenticator, secret: string | undefined): Promise<OrderRecord | undefined> {
  try {
    return (await auth.authenticate(secret)).order;
  } catch (err) {
    if (err instanceof AuthenticationError) return undefined;
    throw err;
  }
}

export function parseCheckPorts(body: unknown): { region: string; ports: number[]; userServiceID?: string } {
  const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  const empty = () => new InputError('item field empty');
  if (b.region === undefined || b.region === null || b.region === '' || b.ports === undefined || b.ports === null) throw empty();
  if (typeof b.region !== 'string') throw new InputError('must be a string', 'region');
  if (!Array.isArray(b.ports)) throw new InputError('must be an array of port numbers', 'ports');
  if (b.ports.length === 0) throw empty();
  if (b.ports.length > 1000) throw new InputError('at most 1000 ports per check', 'ports');
  const ports = b.ports.map((p, i) => {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) {
      throw new InputError(`must be an integer from 1 to 65535, not ${JSON.stringify(p)?.slice(0, 40)}`, `ports[${i}]`);
    }
    return p;
  });
  const out: { region: string; ports: number[]; userServiceID?: string } = { region: b.region, ports };
  if (typeof b.userServiceID === 'string' && b.userServiceID) out.userServiceID = b.userServiceID;
  return out;
}

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

