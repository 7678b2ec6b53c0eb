/**
 * The one place errors become HTTP answers. Every error — domain, validation, parser,
 * unknown route, or a bug — leaves as `{"error":{"code":<status>,"message":"…"}}`.
 * Only 5xx are logged as errors, and a 500's message never carries internals.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorKind, TooManyRequestsError } from '../kernel/errors.js';
import { wantsConsolePage } from './console.js';

const STATUS: Record<ErrorKind, number> = {
  input: 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'too-many-requests': 429,
  unavailable: 503,
  upstream: 502,
};

export interface ErrorEnvelope {
  error: { code: number; message: string };
}

export function envelope(code: number, message: string): ErrorEnvelope {
  return { error: { code, message } };
}

export function sendError(reply: FastifyReply, code: number, message: string): FastifyReply {
  return reply.code(code).type('application/json; charset=utf-8').send(envelope(code, message));
}

/** Fastify's own error codes that mean "the client sent something wrong". */
const CLIENT_ERRORS: Record<string, (err: FastifyError) => [number, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: () => [400, 'body: not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: () => [400, 'body: empty; send a JSON object'],
  FST_ERR_CTP_BODY_TOO_LARGE: () => [413, 'body: too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (e) => [415, `unsupported content type: ${e.message.replace(/^.*: /, '')}; send application/json`],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => [400, 'body: its length does not match Content-Length'],
  FST_ERR_BAD_URL: () => [400, 'malformed URL'],
  FST_ERR_ASYNC_CONSTRAINT: () => [400, 'malformed request'],
};

/** `consolePage`: answers an unknown page URL with the console (a single-page app) when it is served. */
export function installErrorHandling(app: FastifyInstance, consolePage?: (reply: FastifyReply) => FastifyReply): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof DomainError) {
      const code = STATUS[err.kind];
      if (err instanceof TooManyRequestsError) reply.header('retry-after', String(err.retryAfterSeconds));
      if (code >= 500) request.log.warn({ err }, err.message);
      return sendError(reply, code, err.message);
    }
    if (err.validation) {
      return sendError(reply, 400, validationMessage(err));
    }
    const mapped = err.code ? CLIENT_ERRORS[err.code] : undefined;
    if (mapped) {
      const [code, message] = mapped(err);
      return sendError(reply, code, message);
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, err.statusCode, err.message);
    }
    request.log.error({ err }, 'unhandled error');
    return sendError(reply, 500, 'internal error; it has been logged');
  });

  app.setNotFoundHandler((request, reply) => {
    if (consolePage && wantsConsolePage(request.method, request.url, request.headers.accept)) return consolePage(reply);
    return sendError(reply, 404, `no route ${request.method} ${request.url.split('?')[0]}`);
  });
}

/** `body/containers/0/name must match …` → `containers[0].name: must match …` */
function validationMessage(err: FastifyError): string {
  const first = err.validation?.[0];
  if (!first) return err.message;
  const context = (err.validationContext ?? 'body') as string;
  let path = first.instancePath
    .split('/')
    .filter(Boolean)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('')
    .replace(/^\./, '');
  const params = first.params as Record<string, unknown>;
  if (first.keyword === 'required' && typeof params.missingProperty === 'string') {
    path = path ? `${path}.${params.missingProperty}` : params.missingProperty;
    return `${path}: required`;
  }
  if (first.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    return `${path ? `${path}.` : ''}${params.additionalProperty}: unknown field`;
  }
  return `${path || context}: ${first.message ?? 'invalid'}`;
}
