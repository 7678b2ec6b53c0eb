/**
 * The pod: its live status (the seed's `GET /k8s/pod/status`, which can wait for the pod
 * of the latest deploy), and the original clients' restart, stop, start, configuration
 * files and environment. All behind the order's secret.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Authenticator } from '../../domain/authenticator.js';
import type { DomainService } from '../../domain/custom-domains.js';
import type { DeploySpec } from '../../domain/deploy-spec.js';
import type { EndpointPod, EndpointService, EndpointView } from '../../domain/endpoints.js';
import { DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, parseWaitQuery } from '../../domain/pod-wait.js';
import type { WorkloadUpdateService } from '../../domain/workload-updates.js';
import type { WorkloadService } from '../../domain/workload.js';
import { SecretHeader, orderOf, tenantOnly } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { Ok, appliedView, clientsDoc as doc } from '../clients-api.js';
import { sendPlainJson, sendUnchangingJson } from '../plain-json.js';
import { PodStatus, errorResponses, validatedByDomain } from '../schemas.js';
import { PodUpdateBody } from '../body-schemas.js';
import { extended } from '../../kernel/extended.js';

export interface PodRouteDeps {
  auth: Authenticator;
  limiter: ClientLimiter;
  workloads: WorkloadService;
  updates: WorkloadUpdateService;
  domains: DomainService;
  endpoints: EndpointService;
}

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

export const podRoutes: FastifyPluginAsyncTypebox<PodRouteDeps> = async (app, deps) => {
  tenantOnly(app, deps.auth, deps.limiter);
  const waitings = new OpenWaits();
  app.addHook('preClose', (done) => {
    waitings.endAll();
    done();
  });

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
      // The original clients' domain menu reads the bound domains here: always present, [] when none.
      // They are those of the order as this request found it, so a wait looks them up while it
      // waits: the first read after a deploy is of a new version, and reading it only once the
      // pod is Running put a database read (queued behind the writes the same change
      // causes) between the pod's change and the answer.
      const [status, domains] = await Promise.all([
        wait ? waitings.run((signal) => deps.workloads.statusWhen(order, wait, signal), reply) : deps.workloads.status(order),
        deps.domains.atVersion(order),
      ]);
      const region = (order.spec as DeploySpec | null)?.region ?? order.region;
      const endpoints = deps.endpoints.endpoints({ spec: status.podSpec as EndpointPod['spec'], status: status.podStatus as EndpointPod['status'] }, region, domains);
      // An answer to a wait carries its own outcome, and bound domains are read per request:
      // either way the answer is made for this request, not cached.
      if (wait || domains.length) return sendPlainJson(reply, extended(status, { domains, endpoints }));
      return sendUnchangingJson(reply, withNoDomains(status, endpoints));
    },
  );

  // The original clients' pod actions and configuration.
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
 * One `{...status, domains: [], endpoints}` (built by `extended`, which says why) per status
 * view and endpoint list, so its serialized text is still made once per pod change. The
 * endpoint service hands out the same list while the pod and its node's addresses are
 * unchanged: a new list is a change.
 */
const noDomains = new WeakMap<object, { endpoints: EndpointView[]; view: object }>();
function withNoDomains(status: object, endpoints: EndpointView[]): object {
  let cached = noDomains.get(status);
  if (cached?.endpoints !== endpoints) {
    cached = { endpoints, view: extended(status, { domains: [], endpoints }) };
    noDomains.set(status, cached);
  }
  return cached.view;
}
