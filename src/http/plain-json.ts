import type { FastifyReply } from 'fastify';

/**
 * Sends `value` through JSON.stringify instead of the route's schema serializer, for
 * payloads that must reach the client exactly as Kubernetes produced them (a pod's
 * status and spec, a log as one JSON string): a schema serializer would drop or
 * reorder fields it does not know.
 */
export function sendPlainJson<T>(reply: FastifyReply, value: T): FastifyReply {
  return reply
    .type('application/json; charset=utf-8')
    .serializer((v: unknown) => JSON.stringify(v))
    .send(value);
}
