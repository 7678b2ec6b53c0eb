/** Host ports: which are taken in a region (the seed's checkports), and how each stands for the caller. No secret needed. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Authenticator } from '../../domain/authenticator.js';
import type { PortService } from '../../domain/ports.js';
import type { OrderRecord } from '../../domain/records.js';
import { AuthenticationError, InputError } from '../../kernel/errors.js';
import { presentedSecret } from '../auth.js';
import { wordsOf } from '../body-contract.js';
import { CheckPortsBody, PortsStateBody } from '../body-schemas.js';
import { errorResponses, validatedByDomain } from '../schemas.js';

export interface PortRouteDeps {
  ports: PortService;
  auth: Authenticator;
}

export const portRoutes: FastifyPluginAsyncTypebox<PortRouteDeps> = async (app, deps) => {
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
