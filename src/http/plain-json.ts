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

/**
 * The encoded JSON of values that never change once made (see sendUnchangingJson), by
 * value, for as long as the value lives. Kept as bytes, outside V8's heap: a pod's text is
 * some 5 KB, and as strings the 5,000 of a 5,000-pod cluster were a fifth of the heap
 * (26 MiB), and V8 lets its heap grow to a multiple of what is live; bytes are also
 * written to the socket as they are, where a string is encoded again on every send.
 */
const texts = new WeakMap<object, Buffer>();

/**
 * sendPlainJson for a value that is never modified once made — a pod's status view, one
 * per version of the pod — serialized and encoded the first time it is sent, and sent as
 * those bytes after: a busy status route serializes a pod once per change, not once per
 * request.
 */
export function sendUnchangingJson(reply: FastifyReply, value: object): FastifyReply {
  let bytes = texts.get(value);
  if (bytes === undefined) {
    bytes = ownBytes(JSON.stringify(value));
    texts.set(value, bytes);
  }
  // Bytes with a content type and no custom serializer are sent as they are.
  return reply.type('application/json; charset=utf-8').send(bytes);
}

/**
 * A string's UTF-8 bytes in memory of their own. `Buffer.from` puts a text under 4 KB in
 * a slice of Node's shared 8 KB pool, and a slice keeps its whole slab alive: kept for a
 * pod's lifetime, 5,000 status texts (~3.3 KB each) held 2,856 slabs, 22.3 MiB, for
 * some 16 MiB of text. Exported for its test.
 */
export function ownBytes(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'utf8'));
  bytes.write(text, 'utf8');
  return bytes;
}
