import type { FastifyReply } from 'fastify';
import { LruMap } from '../kernel/lru-map.js';

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

/**
 * The texts of the values sent most recently (see sendUnchangingJson). Bounded, not one
 * per live value: a pod's text is some 5 KB, and kept for every pod it was the largest
 * thing V-Kube held (26 MiB of its heap with 5,000 pods). The orders polled most stay
 * here; one polled once in a while is serialized again (a few tens of µs).
 */
const TEXTS_KEPT = 1_000;
const texts = new LruMap<object, string>(TEXTS_KEPT);

/**
 * sendPlainJson for a value that is never modified once made — a pod's status view, one
 * per version of the pod — serialized the first time it is sent and sent as that text
 * while it is among the last TEXTS_KEPT sent: a busy status route serializes a pod once
 * per change, not once per request.
 */
export function sendUnchangingJson(reply: FastifyReply, value: object): FastifyReply {
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    texts.set(value, text);
  }
  // A string with a JSON content type and no custom serializer is sent as it is.
  return reply.type('application/json; charset=utf-8').send(text);
}
