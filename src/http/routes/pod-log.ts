/**
 * The pod's log: read once as a JSON string (the seed's `GET /k8s/pod/log`), or followed
 * as Server-Sent Events (the original clients' `GET /k8s/pod/logs`). Behind the order's secret.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Authenticator } from '../../domain/authenticator.js';
import type { ExecService } from '../../domain/exec.js';
import type { LogOptions, WorkloadService } from '../../domain/workload.js';
import { InputError } from '../../kernel/errors.js';
import { SecretHeader, orderOf, tenantOnly } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { clientsDoc as doc } from '../clients-api.js';
import { sendPlainJson } from '../plain-json.js';
import { errorResponses, validatedByDomain } from '../schemas.js';
import { SSE_MAX_LINE_BYTES, pipeLogAsSse } from '../sse-log.js';

export interface PodLogRouteDeps {
  auth: Authenticator;
  limiter: ClientLimiter;
  workloads: WorkloadService;
  /** Where a followed log takes its place among the order's live sessions (the per-order cap). */
  sessions: Pick<ExecService, 'openLogStream'>;
}

export const LogQuery = Type.Object({
  container: Type.Optional(Type.String()),
  tailLines: Type.Optional(Type.String({ description: 'integer ≥ 0' })),
  sinceSeconds: Type.Optional(Type.String({ description: 'integer ≥ 1' })),
  timestamps: Type.Optional(Type.String({ description: 'true/false' })),
  previous: Type.Optional(
    Type.String({
      description:
        'true/false: the log of the previous instance of the container (the run before its last restart: after a crash, an OOM kill or a failed liveness probe). ' +
        "404 naming the container when it has none (it has not stopped since the pod started); GET /k8s/pod/status tells beforehand (`containers[].hasPreviousLog`)",
    }),
  ),
  limitBytes: Type.Optional(Type.String({ description: 'integer ≥ 1' })),
});

export const podLogRoutes: FastifyPluginAsyncTypebox<PodLogRouteDeps> = async (app, deps) => {
  tenantOnly(app, deps.auth, deps.limiter);

  app.get(
    '/k8s/pod/log',
    {
      schema: {
        summary: "The pod's log, as one JSON string",
        tags: ['seed'],
        headers: SecretHeader,
        querystring: LogQuery,
        response: { 200: Type.String(), ...errorResponses(400, 401, 404, 503) },
      },
      ...validatedByDomain,
    },
    async (request, reply) => {
      const text = await deps.workloads.log(orderOf(request), parseLogQuery(request.query));
      return sendPlainJson(reply, text);
    },
  );

  app.get(
    '/k8s/pod/logs',
    {
      ...doc('Follow the log as Server-Sent Events', {
        description: `Each log line is one event: a \`data:\` line (a carriage return inside the line starts another \`data:\` line of the same event). A line longer than ${SSE_MAX_LINE_BYTES / 1024} KiB is cut there and ends with \`…[line cut: N more bytes]\`; \`GET /k8s/pod/log\` returns it whole. \`event: end\` when the container stops, \`event: error\` when the cluster breaks the stream off. A client that reads slowly slows the upstream; one that reads nothing for 2 minutes is disconnected. The upstream request ends when the client disconnects. A followed log is one of the order's live sessions (VKUBE_SESSIONS_PER_ORDER: 429 when over); it ends with \`event: end\` when the order is stopped, expires or is aborted. With \`previous=true\` it streams the previous instance of the container (the run before its last restart) and ends; 404 naming the container when there is none.`,
        querystring: LogQuery,
        response: {
          200: {
            description: 'a stream of `data: <log line>` events, then `event: end`',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          ...errorResponses(400, 401, 404, 429, 503),
        },
      }),
      ...validatedByDomain,
    },
    async (request, reply) => streamLog(deps.workloads, deps.sessions, request, reply),
  );
};

/** Query values arrive as strings; Python clients send booleans as `True`. */
export function parseLogQuery(query: unknown): LogOptions {
  const q = (query ?? {}) as Record<string, unknown>;
  const one = (key: string): string | undefined => {
    const v = q[key];
    const s = Array.isArray(v) ? v[0] : v;
    return s === undefined || s === '' ? undefined : String(s);
  };
  const int = (key: string, min: number): number | undefined => {
    const s = one(key);
    if (s === undefined) return undefined;
    if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > 2 ** 31) throw new InputError(`must be an integer ≥ ${min}`, key);
    return Number(s);
  };
  const bool = (key: string): boolean | undefined => {
    const s = one(key);
    if (s === undefined) return undefined;
    if (/^(true|1|yes)$/i.test(s)) return true;
    if (/^(false|0|no)$/i.test(s)) return false;
    throw new InputError('must be true or false', key);
  };
  const opts: LogOptions = {};
  const container = one('container');
  if (container !== undefined) opts.container = container;
  const tailLines = int('tailLines', 0);
  if (tailLines !== undefined) opts.tailLines = tailLines;
  const sinceSeconds = int('sinceSeconds', 1);
  if (sinceSeconds !== undefined) opts.sinceSeconds = sinceSeconds;
  const limitBytes = int('limitBytes', 1);
  if (limitBytes !== undefined) opts.limitBytes = limitBytes;
  const timestamps = bool('timestamps');
  if (timestamps !== undefined) opts.timestamps = timestamps;
  const previous = bool('previous');
  if (previous !== undefined) opts.previous = previous;
  return opts;
}

let openLogStreams = 0;

/** Log streams being served now (each holds one upstream request to the cluster). */
export function activeLogStreams(): number {
  return openLogStreams;
}

/** Server-Sent Events of a followed log; the upstream request is tied to the client's connection. */
async function streamLog(workloads: WorkloadService, sessions: PodLogRouteDeps['sessions'], request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const order = orderOf(request);
  const opts = parseLogQuery(request.query);
  const abort = new AbortController();
  const res = reply.raw;
  // A place among the order's live sessions first (429 when it holds too many); the order's end ends the stream.
  const session = sessions.openLogStream(order, (reason) => {
    abort.abort();
    if (reason !== 'order-ended' && reason !== 'pod-gone' && reason !== 'shutdown') return;
    if (res.headersSent && !res.writableEnded) res.end('event: end\ndata: the order was stopped or ended\n\n');
  });
  // A client that leaves while the upstream request is being made aborts it too.
  const leftEarly = () => session.end('client');
  res.once('close', leftEarly);
  let upstream: Awaited<ReturnType<WorkloadService['followLog']>>;
  try {
    // Errors up to here (no pod, bad container) still answer in the JSON envelope.
    upstream = await workloads.followLog(order, opts, abort.signal);
  } catch (err) {
    session.end('error');
    throw err;
  }
  res.off('close', leftEarly);
  reply.hijack();
  if (abort.signal.aborted || res.destroyed) {
    session.end('client');
    upstream.destroy();
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  });
  openLogStreams++;
  pipeLogAsSse(upstream, res, {
    onClose: () => {
      openLogStreams--;
      session.end('finished');
      abort.abort();
    },
  });
}
