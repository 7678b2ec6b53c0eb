/**
 * Who is calling. Tenant routes carry the order secret (or the original clients'
 * token, or an access token) in the `secret` header; the provider's admin routes carry
 * `Authorization: Bearer <VKUBE_ADMIN_TOKEN>`. The two never open each other's routes.
 * Every refused credential counts toward the client's lock-out.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Type } from 'typebox';
import type { Authenticator, Principal } from '../domain/authenticator.js';
import { AuthenticationError } from '../kernel/errors.js';
import type { OrderRecord } from '../domain/records.js';
import type { ClientLimiter } from './client-limiter.js';
import { splitProtocols } from '../kernel/stream-channels.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the tenant's credential speaks for (set by tenantAuth). */
    principal?: Principal;
    /** The order the credential opened (set by tenantAuth). */
    order?: OrderRecord;
    /** Set by adminAuth once the admin token matched. */
    isAdmin?: boolean;
  }
}

/**
 * The secret as the clients send it: `secret` header, or a `token` header or `Authorization: Bearer`;
 * on a WebSocket upgrade also the subprotocol `base64url.vkube.secret.<…>` (browsers cannot set headers there).
 */
export function presentedSecret(request: FastifyRequest): string | undefined {
  const header = (name: string) => {
    const v = request.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const bearer = header('authorization')?.match(/^Bearer\s+(.+)$/i)?.[1];
  const upgrade = /^websocket$/i.test(header('upgrade') ?? '') ? splitProtocols(request.headers['sec-websocket-protocol']).secret : undefined;
  return header('secret') || header('token') || bearer || upgrade || undefined;
}

/** The tenant's credential as the OpenAPI document shows it on each tenant route. */
export const SecretHeader = Type.Object({ secret: Type.Optional(Type.String({ description: "the order's secret (or the original clients' token)" })) });

export function tenantAuth(auth: Authenticator, limiter: ClientLimiter) {
  return async (request: FastifyRequest): Promise<void> => {
    try {
      request.principal = await auth.authenticate(presentedSecret(request));
    } catch (err) {
      if (err instanceof AuthenticationError) limiter.recordFailure(request.ip);
      throw err;
    }
    request.order = request.principal.order;
    limiter.recordSuccess(request.ip);
  };
}

/**
 * Puts every route of a plugin behind the tenant's credential, and says so in the
 * OpenAPI document.
 */
export function tenantOnly(app: FastifyInstance, auth: Authenticator, limiter: ClientLimiter): void {
  app.addHook('preHandler', tenantAuth(auth, limiter));
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, security: [{ secret: [] }] };
  });
}

/** The authenticated order; only for handlers behind tenantAuth. */
export function orderOf(request: FastifyRequest): OrderRecord {
  if (!request.order) throw new AuthenticationError('missing secret');
  return request.order;
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AuthenticationError('missing secret');
  return request.principal;
}

export function adminAuth(adminToken: string | undefined, limiter: ClientLimiter) {
  const expected = adminToken ? digest(adminToken) : undefined;
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    if (!expected) throw new AuthenticationError('the admin API is disabled: set VKUBE_ADMIN_TOKEN to enable it');
    const token = request.headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
    // Comparing digests keeps the comparison constant-time whatever the token's length.
    if (!token || !timingSafeEqual(digest(token), expected)) {
      limiter.recordFailure(request.ip);
      throw new AuthenticationError('missing or wrong admin token (Authorization: Bearer …)');
    }
    request.isAdmin = true;
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
