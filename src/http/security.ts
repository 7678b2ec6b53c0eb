/**
 * Cross-cutting protections of the HTTP edge: per-client limits (a token bucket, and
 * lock-out after bad secrets), security headers, CORS only for configured origins, and
 * the audit log of every change made through the API.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { AuditStore } from '../domain/store-port.js';
import type { ClientLimiter } from './client-limiter.js';

const UNLIMITED = /^\/(healthz|readyz|metrics)(\?|$)/;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a handler whose route alone does not say what was done (the command of a one-shot exec); never output or credentials. */
    auditDetail?: string;
  }
  interface FastifyContextConfig {
    /**
     * false: a read sent with a mutating method (POST /k8s/checkports); it changes nothing and is not audited.
     * true: a GET that is audited anyway (the WebSocket sessions into a pod: their refusals; the sessions themselves are recorded by ExecService).
     */
    audit?: boolean;
  }
}

/**
 * Whether a request belongs in the audit log: changes and refused attempts at them. Not
 * reads (whatever their method), not URLs no route serves, and not requests the rate
 * limit or lock-out turned away unidentified: those change nothing, and anyone could
 * otherwise write a row per request.
 */
function audited(request: FastifyRequest, reply: FastifyReply): boolean {
  if (!request.url.startsWith('/api/') || request.routeOptions.url === undefined) return false;
  // A read that opens something (an exec or port-forward session) is audited like a change; refusals included.
  if (!MUTATING.has(request.method) && request.routeOptions.config?.audit !== true) return false;
  if (request.routeOptions.config?.audit === false) return false;
  return !(reply.statusCode === 429 && !request.principal && !request.isAdmin);
}

export function installSecurity(app: FastifyInstance, opts: { limiter: ClientLimiter; audit: AuditStore; config: Pick<Config, 'corsOrigins'>; log?: (err: unknown) => void }): void {
  const allowed = new Set(opts.config.corsOrigins);

  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin && allowed.has(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('vary', 'Origin');
      if (request.method === 'OPTIONS') {
        reply
          .header('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE')
          .header('access-control-allow-headers', 'content-type, secret, authorization, username, password')
          .header('access-control-max-age', '600');
        return reply.code(204).send();
      }
    }
    if (!UNLIMITED.test(request.url)) opts.limiter.admit(request.ip);
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    if (request.url.startsWith('/api/')) {
      // Answers carry secrets and private state: never cached by anything in between.
      reply.header('cache-control', 'no-store');
    } else if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      const docs = request.url.startsWith('/docs');
      reply.header(
        'content-security-policy',
        `default-src 'self'; img-src 'self' data:; style-src 'self'${docs ? " 'unsafe-inline'" : ''}; script-src 'self'${docs ? " 'unsafe-inline'" : ''}; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
      );
    }
    return payload;
  });

  // Who changed what, when, and how it ended; never a body, never a credential.
  app.addHook('onResponse', async (request, reply) => {
    if (!audited(request, reply)) return;
    const principal = request.principal;
    const actor = request.isAdmin ? 'admin' : principal ? (principal.via === 'token' ? `token:${principal.tokenId}` : `order:${principal.order.id}`) : 'anonymous';
    const params = request.params as { id?: string } | undefined;
    await opts.audit
      .appendAudit({
        id: `${Date.now().toString(36)}-${randomUUID()}`,
        at: Math.floor(Date.now() / 1000),
        actor,
        orderId: principal?.order.id ?? (request.isAdmin ? (params?.id ?? null) : null),
        action: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
        outcome: reply.statusCode,
        client: request.ip,
        requestId: String(request.id),
        detail: request.auditDetail ?? null,
      })
      .catch((err: unknown) => opts.log?.(err));
  });
}
