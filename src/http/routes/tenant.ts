/** Seed endpoints that need the order's secret: order, deploy, pod log, pod status. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { LogOptions } from '../../cluster/gateway.js';
import type { DeployService } from '../../domain/deploy.js';
import type { DomainService } from '../../domain/domains.js';
import { type EndpointService, type EndpointView, endpointsKey } from '../../domain/endpoints.js';
import type { DeploySpec } from '../../domain/deploy-spec.js';
import type { PodJson } from '../../cluster/gateway.js';
import { InputError } from '../../domain/errors.js';
import { DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, parseWaitQuery } from '../../domain/pod-wait.js';
import { orderView } from '../../domain/views.js';
import type { WorkloadService } from '../../domain/workload.js';
import type { Authenticator } from '../../domain/authenticator.js';
import { orderOf, tenantOnly } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { sendPlainJson, sendUnchangingJson } from '../plain-json.js';
import { DeployResult, DeployValidation, Order, PodStatus, SeedDeployBody, errorResponses, validatedByDomain } from '../schemas.js';
import type { FieldProblem } from '../../domain/errors.js';

export interface TenantRouteDeps {
  auth: Authenticator;
  limiter: ClientLimiter;
  deploys: DeployService;
  workloads: WorkloadService;
  domains: DomainService;
  endpoints: EndpointService;
}

export const SecretHeader = Type.Object({ secret: Type.Optional(Type.String({ description: "the order's secret (or the original clients' token)" })) });

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

export const StatusQuery = Type.Object({
  wait: Type.Optional(
    Type.String({
      description:
        '`Running` or `Ready`: answer once the pod of the latest deploy is so — told by the pod watch the moment it changes, no polling needed — ' +
        'or as soon as it cannot get there by itself (failed, crash-looping, an image that cannot be pulled, no node for it), or when `timeout` runs out; ' +
        '`wait` in the answer says which. 404 when no pod of the latest deploy appeared in that time, 409 when the service is not running (stopped, ended).',
    }),
  ),
  timeout: Type.Optional(Type.String({ description: `seconds to wait, 1–${MAX_WAIT_SECONDS} (default ${DEFAULT_WAIT_SECONDS}); only with wait` })),
});

export const tenantRoutes: FastifyPluginAsyncTypebox<TenantRouteDeps> = async (app, deps) => {
  tenantOnly(app, deps.auth, deps.limiter);
  const waitings = new OpenWaits();
  app.addHook('preClose', (done) => {
    waitings.endAll();
    done();
  });

  app.get(
    '/k8s/order',
    { schema: { summary: 'The order the secret belongs to', tags: ['seed'], headers: SecretHeader, response: { 200: Order, ...errorResponses(401, 500) } } },
    async (request) => orderView(orderOf(request)),
  );

  app.post(
    '/k8s/deploy',
    {
      schema: {
        summary: 'Deploy (or replace) the pod',
        description:
          'Validates every field, checks images and host ports, records the spec and leases the host ports in one transaction, then applies it. ' +
          'Deploying again replaces the pod. 409 names the host ports already taken; 403 when the order has expired or was aborted.',
        tags: ['seed'],
        headers: SecretHeader,
        body: SeedDeployBody,
        response: { 200: DeployResult, ...errorResponses(400, 401, 403, 409, 503) },
      },
      ...validatedByDomain,
    },
    async (request) => deps.deploys.deploy(orderOf(request), request.body, 'deploy'),
  );

  app.post(
    '/k8s/deploy/validate',
    {
      schema: {
        summary: 'Check a deploy body without deploying',
        description:
          'Checks the body as POST /k8s/deploy would — every field, the order\'s limits, reserved ports and the host ports other orders hold — ' +
          'and answers every problem found at once, each with the path of its field. Nothing is changed. Images are checked by GET /k8s/images.',
        tags: ['seed'],
        headers: SecretHeader,
        body: SeedDeployBody,
        response: { 200: DeployValidation, ...errorResponses(401, 503) },
      },
      ...validatedByDomain,
    },
    async (request) => validation(await deps.deploys.validate(orderOf(request), request.body, 'seed')),
  );

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
    '/k8s/pod/status',
    {
      schema: {
        summary: "The live pod's name, status, spec and annotations, as Kubernetes reports them",
        description:
          'When the pod mounts the order\'s persistent volume (persistStorage), `storage` says whether the volume is ready and, while it is not, ' +
          'why, in plain words (a storage class that does not exist, no default class, a provisioner that failed or has not answered, no node able to provide it), ' +
          "drawn from the claim's phase, its events and the pod's scheduling condition. `domains` lists the custom domains (`[]` when none). " +
          'Once a container has restarted, ended, waits or runs without being ready, `containers` says why for each: its last termination ' +
          '(reason such as OOMKilled, Error or Completed, exit code, start and end), restart count, crash-loop back-off with its message, ' +
          'and whether `GET /k8s/pod/log?previous=true` has a previous instance to read. ' +
          '`endpoints` says where the app is reached: each published host port at the public address of its node (the host the provider configured for the region, ' +
          'else the node\'s ExternalIP; without either, `host` is null, `note` says so and `internalHost` gives the node\'s internal address), and each custom domain as a URL.',
        tags: ['seed'],
        headers: SecretHeader,
        querystring: StatusQuery,
        response: { 200: PodStatus, ...errorResponses(400, 401, 404, 409, 503) },
      },
      ...validatedByDomain,
    },
    async (request, reply) => {
      const order = orderOf(request);
      const query = request.query as Record<string, unknown>;
      const wait = query.wait === undefined && query.timeout === undefined ? undefined : parseWaitQuery(query.wait, query.timeout);
      const status = wait ? await waitings.run((signal) => deps.workloads.statusWhen(order, wait, signal), reply) : deps.workloads.status(order);
      // The original clients' domain menu reads the bound domains here: always present, [] when none.
      const domains = await deps.domains.list(order);
      const region = (order.spec as DeploySpec | null)?.region ?? order.region;
      const endpoints = deps.endpoints.endpoints({ spec: status.podSpec as PodJson['spec'], status: status.podStatus as PodJson['status'] }, region, domains);
      // An answer to a wait carries its own outcome: made for this request, not cached.
      if (wait) return sendPlainJson(reply, { ...status, domains, endpoints });
      return domains.length ? sendPlainJson(reply, { ...status, domains, endpoints }) : sendUnchangingJson(reply, withNoDomains(status, endpoints));
    },
  );
};

/** Waits in progress: each ends when its client goes away, and all of them when the server closes. */
class OpenWaits {
  private readonly open = new Set<AbortController>();

  async run<T>(wait: (signal: AbortSignal) => Promise<T>, reply: FastifyReply): Promise<T> {
    const controller = new AbortController();
    const gone = () => controller.abort();
    reply.raw.once('close', gone);
    this.open.add(controller);
    try {
      return await wait(controller.signal);
    } finally {
      this.open.delete(controller);
      reply.raw.off('close', gone);
    }
  }

  endAll(): void {
    for (const c of this.open) c.abort();
  }
}

/**
 * One `{...status, domains: [], endpoints}` per status view and endpoints, so its serialized
 * text is still made once per pod change (endpoints change only with the node's addresses).
 */
const noDomains = new WeakMap<object, { key: string; view: object }>();
function withNoDomains(status: object, endpoints: EndpointView[]): object {
  const key = endpointsKey(endpoints);
  let cached = noDomains.get(status);
  if (cached?.key !== key) {
    cached = { key, view: { ...status, domains: [], endpoints } };
    noDomains.set(status, cached);
  }
  return cached.view;
}

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

/** The validate routes' answer. */
export function validation(problems: FieldProblem[]): { valid: boolean; problems: FieldProblem[] } {
  return { valid: problems.length === 0, problems };
}
