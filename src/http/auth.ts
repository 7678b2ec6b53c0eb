/**
 * Who is calling. Tenant routes carry the order secret (or the original clients'
 * token) in the `secret` header; the provider's admin routes carry
 * `Authorization: Bearer <VKUBE_ADMIN_TOKEN>`. The two never open each other's routes.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthenticationError } from '../domain/errors.js';
import type { OrderService } from '../domain/orders.js';
import type { OrderRecord } from '../store/types.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The order the tenant's secret opened (set by tenantAuth). */
    order?: OrderRecord;
  }
}

/** The secret as the clients send it: `secret` header, or a `token` header or `Authorization: Bearer`. */
export function presentedSecret(request: FastifyRequest): string | undefined {
  const header = (name: string) => {
    const v = request.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const bearer = header('authorization')?.match(/^Bearer\s+(.+)$/i)?.[1];
  return header('secret') || header('token') || bearer || undefined;
}

export function tenantAuth(orders: OrderService) {
  return async (request: FastifyRequest): Promise<void> => {
    request.order = await orders.authenticate(presentedSecret(request));
  };
}

/** The authenticated order; only for handlers behind tenantAuth. */
export function orderOf(request: FastifyRequest): OrderRecord {
  if (!request.order) throw new AuthenticationError('missing secret');
  return request.order;
}

export function adminAuth(adminToken: string | undefined) {
  const expected = adminToken ? digest(adminToken) : undefined;
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    if (!expected) throw new AuthenticationError('the admin API is disabled: set VKUBE_ADMIN_TOKEN to enable it');
    const token = request.headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
    // Comparing digests keeps the comparison constant-time whatever the token's length.
    if (!token || !timingSafeEqual(digest(token), expected)) throw new AuthenticationError('missing or wrong admin token (Authorization: Bearer …)');
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
