/**
 * The original clients' API (DESIGN.md section 3): what their market CLI and `vkube`
 * CLI call. They read only the fields named there and treat any body with an `error`
 * key as a failure, so successes never carry one.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { UnitCatalogue } from '../../config.js';
import type { ApplyOutcome } from '../../domain/apply-waiter.js';
import type { DeployService } from '../../domain/deploy.js';
import type { DomainService } from '../../domain/domains.js';
import type { ExecService } from '../../domain/exec.js';
import { InputError, NotFoundError } from '../../domain/errors.js';
import type { MonitorQuery, MonitorService } from '../../domain/monitor.js';
import type { ContactService } from '../../domain/notify/contacts.js';
import { deploymentInfoView, userServiceView } from '../../domain/views.js';
import type { WorkloadUpdateService } from '../../domain/workload-updates.js';
import type { WorkloadService } from '../../domain/workload.js';
import type { Authenticator } from '../../domain/authenticator.js';
import { orderOf, tenantOnly } from '../auth.js';
import { withSchemaProblems } from '../body-contract.js';
import { AnnotationBody, ImagesBody, IngressAddBody, IngressPatchBody, LabelBody, PodUpdateBody } from '../body-schemas.js';
import type { ClientLimiter } from '../client-limiter.js';
import { sendPlainJson } from '../plain-json.js';
import { SSE_MAX_LINE_BYTES, pipeLogAsSse } from '../sse-log.js';
import { ClientDeployBody, DeployResult, DeployValidation, errorResponses, validatedByDomain } from '../schemas.js';
import { LogQuery, SecretHeader, parseLogQuery, validation } from './tenant.js';

export interface CompatRouteDeps {
  units: UnitCatalogue;
  auth: Authenticator;
  limiter: ClientLimiter;
  deploys: DeployService;
  workloads: WorkloadService;
  updates: WorkloadUpdateService;
  domains: DomainService;
  monitor: MonitorService;
  /** Where a followed log takes its place among the order's live sessions (the per-order cap). */
  sessions: Pick<ExecService, 'openLogStream'>;
  /** The e-mail bound through the contact API, shown as the service's `email`. */
  contacts?: Pick<ContactService, 'get'>;
}

const Ok = Type.Object(
  {
    status: Type.String(),
    generation: Type.Optional(Type.Integer({ description: "the order's generation a change recorded (only the reconcile leader applies it; the answer waits up to VKUBE_APPLY_WAIT_MS for that)" })),
    applied: Type.Optional(Type.Boolean({ description: 'whether the cluster held that generation when the answer was sent; when false a warning says why' })),
    warnings: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: true },
);
const AnyObject = Type.Object({}, { additionalProperties: true });
export const compatRoutes: FastifyPluginAsyncTypebox<CompatRouteDeps> = async (app, deps) => {
  tenantOnly(app, deps.auth, deps.limiter);
  const tags = ['clients'];
  const doc = (summary: string, extra: Record<string, unknown> = {}) => ({ schema: { summary, tags, headers: SecretHeader, ...extra } });

  app.get('/k8s/userService', doc('The service behind the secret: status, timestamps, and what its units add up to', { response: { 200: AnyObject, ...errorResponses(401) } }), async (request) => {
    const order = orderOf(request);
    // The clients show `email`: the address bound with the contact API, else the one the order was placed with.
    const bound = await deps.contacts?.get({ kind: 'service', id: order.id });
    return { ...userServiceView(order, deps.units), ...(bound ? { email: bound.contact } : {}) };
  });

  for (const [path, mode, summary] of [
    ['/k8s/deployment', 'first', 'First deploy (the service must be ServicePending)'],
    ['/k8s/deployment/update', 'update', 'Change the deployed service'],
  ] as const) {
    const config = { bodyContract: { words: (request: FastifyRequest) => deps.deploys.validate(orderOf(request), request.body, 'clients') } };
    app.post(path, { ...doc(summary, { body: ClientDeployBody, response: { 200: DeployResult, ...errorResponses(400, 401, 403, 409, 503) } }), config, ...validatedByDomain }, async (request) =>
      deps.deploys.deploy(orderOf(request), request.body, mode),
    );
  }

  app.post(
    '/k8s/deployment/validate',
    {
      ...doc('Check a deploy body without deploying', {
        description:
          'Checks the body as POST /k8s/deployment and /k8s/deployment/update would and answers every problem found at once, each with the path of its field. Nothing is changed.',
        body: ClientDeployBody,
        response: { 200: DeployValidation, ...errorResponses(401, 503) },
      }),
      config: { bodyContract: { report: true } },
      ...validatedByDomain,
    },
    async (request) => validation(withSchemaProblems(await deps.deploys.validate(orderOf(request), request.body, 'clients'), request)),
  );

  app.get('/k8s/deployment/info', doc('The deployed configuration, in the deploy body shape', { response: { 200: AnyObject, ...errorResponses(401, 404) } }), async (request) => {
    const order = orderOf(request);
    const spec = deps.deploys.currentSpec(order);
    if (!spec) throw new NotFoundError('nothing is deployed for this order yet');
    return deploymentInfoView(spec, order);
  });

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

  const action = (name: 'restart' | 'stop' | 'start', summary: string) =>
    app.post(`/k8s/pod/${name}`, { ...doc(summary, { response: { 200: Ok, ...errorResponses(401, 403, 409, 503) } }), ...validatedByDomain }, async (request) => {
      const { order, outcome } = await deps.workloads[name](orderOf(request));
      return { status: 'OK', serviceStatus: order.serviceStatus, ...appliedView(outcome) };
    });
  action('restart', 'Replace the pod with a new one (same spec and host ports)');
  action('stop', 'Scale to zero (ServiceStop); spec and host ports are kept');
  action('start', 'Resume a stopped service on the same host ports');

  app.put(
    '/k8s/pod/update',
    {
      ...doc('Replace configuration files and set environment variables; the pod restarts with them', {
        body: PodUpdateBody,
        response: { 200: Ok, ...errorResponses(400, 401, 403, 404, 503) },
      }),
      ...validatedByDomain,
    },
    async (request) => {
      const { outcome } = await deps.updates.updateConfig(orderOf(request), request.body);
      return { status: 'OK', ...appliedView(outcome) };
    },
  );

  app.get('/k8s/pod/configmap', doc("Each container's configuration text", { response: { 200: Type.Record(Type.String(), Type.String()), ...errorResponses(401, 404) } }), async (request) =>
    deps.updates.configFiles(orderOf(request)),
  );

  app.patch(
    '/k8s/pod/images',
    {
      ...doc('New images, one per container in order; each is checked in its registry first', {
        body: ImagesBody,
        response: { 200: Ok, ...errorResponses(400, 401, 403, 404, 503) },
      }),
      ...validatedByDomain,
    },
    async (request) => {
      const { spec, warnings, outcome } = await deps.updates.updateImages(orderOf(request), request.body);
      return { status: 'OK', images: spec.containers.map((c) => c.image), warnings, generation: outcome.generation, applied: outcome.applied };
    },
  );

  const DomainsOut = Type.Object({ status: Type.String(), domains: Type.Array(Type.Object({ domain: Type.String(), containerPort: Type.Integer(), isHttps: Type.Boolean() })) });
  app.get('/k8s/pod/ingress', doc("The order's custom domains (also while the service is stopped)", { response: { 200: DomainsOut, ...errorResponses(401) } }), async (request) => ({
    status: 'OK',
    domains: await deps.domains.list(orderOf(request)),
  }));
  app.post(
    '/k8s/pod/ingress',
    {
      ...doc('Route a custom domain to a container port (HTTPS via cert-manager with isLetsencrypt)', {
        body: IngressAddBody,
        response: { 200: DomainsOut, ...errorResponses(400, 401, 403, 404, 409) },
      }),
      ...validatedByDomain,
    },
    async (request) => ({ status: 'OK', domains: await deps.domains.add(orderOf(request), request.body) }),
  );
  app.patch(
    '/k8s/pod/ingress',
    {
      ...doc('Add or remove domains', {
        body: IngressPatchBody,
        response: { 200: DomainsOut, ...errorResponses(400, 401, 403, 404, 409) },
      }),
      ...validatedByDomain,
    },
    async (request) => ({ status: 'OK', domains: await deps.domains.patch(orderOf(request), request.body) }),
  );
  app.delete('/k8s/pod/ingress', doc('Remove every domain', { response: { 200: DomainsOut, ...errorResponses(401, 403) } }), async (request) => ({
    status: 'OK',
    domains: await deps.domains.removeAll(orderOf(request)),
  }));

  app.post(
    '/k8s/deployment/metadata/annotation',
    { ...doc('Describe the service (an annotation on its Deployment)', { body: AnnotationBody, response: { 200: Ok, ...errorResponses(400, 401, 403) } }), ...validatedByDomain },
    async (request) => {
      const order = await deps.updates.setDescription(orderOf(request), request.body);
      return { status: 'OK', description: order.description };
    },
  );
  app.post(
    '/k8s/deployment/metadata/label',
    { ...doc('Label the service (a label on its Deployment)', { body: LabelBody, response: { 200: Ok, ...errorResponses(400, 401, 403) } }), ...validatedByDomain },
    async (request) => {
      const order = await deps.updates.setLabel(orderOf(request), request.body);
      return { status: 'OK', customizedLabel: order.customLabel };
    },
  );

  app.get(
    '/monitor',
    {
      ...doc('What the containers use now: CPU (cores), memory (bytes, with limit), network (bytes/s), storage (bytes); what cannot be read yet (no usage sample in the first seconds of a pod) is 0 and named in `unavailable`', {
        querystring: Type.Object({
          allTypes: Type.Optional(Type.String()),
          types: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
          containers: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
          allContainers: Type.Optional(Type.String()),
        }),
        response: { 200: AnyObject, ...errorResponses(400, 401, 404, 503) },
      }),
      ...validatedByDomain,
    },
    async (request, reply) => sendPlainJson(reply, await deps.monitor.monitor(orderOf(request), parseMonitorQuery(request.query))),
  );
};

/** How far the cluster has taken a recorded change, as the answers carry it. */
function appliedView(outcome: ApplyOutcome): { generation: number; applied: boolean; warnings: string[] } {
  return { generation: outcome.generation, applied: outcome.applied, warnings: outcome.warning ? [outcome.warning] : [] };
}

/** Query values as Python clients send them: `True`, and repeated keys for lists. */
export function parseMonitorQuery(query: unknown): MonitorQuery {
  const q = (query ?? {}) as Record<string, unknown>;
  const list = (v: unknown): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((s) => s.trim()).filter(Boolean));
  const flag = (name: string): boolean => {
    const v = Array.isArray(q[name]) ? (q[name] as unknown[])[0] : q[name];
    if (v === undefined || v === '') return false;
    if (/^(true|1|yes)$/i.test(String(v))) return true;
    if (/^(false|0|no)$/i.test(String(v))) return false;
    throw new InputError('must be True or False', name);
  };
  return { allTypes: flag('allTypes'), types: list(q.types), containers: list(q.containers), allContainers: flag('allContainers') };
}

let openLogStreams = 0;

/** Log streams being served now (each holds one upstream request to the cluster). */
export function activeLogStreams(): number {
  return openLogStreams;
}

/** Server-Sent Events of a followed log; the upstream request is tied to the client's connection. */
async function streamLog(workloads: WorkloadService, sessions: CompatRouteDeps['sessions'], request: FastifyRequest, reply: FastifyReply): Promise<void> {
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
