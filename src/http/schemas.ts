/**
 * Schemas shared by the routes. They declare the wire format and feed the OpenAPI
 * document; a route's body schema is also the validator of its bodies (body-contract.ts),
 * so the document and the server cannot disagree.
 */
import { Type } from 'typebox';

export const ErrorEnvelope = Type.Object(
  { error: Type.Object({ code: Type.Integer(), message: Type.String() }) },
  { $id: 'ErrorEnvelope', description: 'Every error, whatever the status' },
);

/** Error answers of a route, all in the envelope (registered once as the ErrorEnvelope component). */
export const errorResponses = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, Type.Ref('ErrorEnvelope')]));

export const ServiceOptions = Type.Record(Type.String(), Type.String(), {
  description: 'Options of the order, e.g. resourceUnit "2-Unit-Resource", portSpecification, region, persistStorage',
});

export const Order = Type.Object(
  {
    createdAt: Type.Integer({ description: 'unix seconds' }),
    updatedAt: Type.Integer({ description: 'unix seconds' }),
    duration: Type.Integer({ description: 'hours bought' }),
    serviceExpiredDate: Type.String({ description: 'RFC 3339 expiry; "" until the service first starts' }),
    amount: Type.Number(),
    amountPaid: Type.Number(),
    serviceID: Type.String(),
    service: Type.String(),
    serviceCategoryID: Type.String(),
    provider: Type.String(),
    address: Type.String(),
    recipient: Type.String(),
    id: Type.String(),
    serviceOptions: ServiceOptions,
    status: Type.String({ description: '"OrderFiled" once recorded' }),
    publicKey: Type.String(),
  },
  { $id: 'Order' },
);

// The deploy bodies and their Probe component live in body-schemas.ts; re-exported for the routes that import them from here.
export { ClientDeployBody, PortSpecBody, ProbeBody, ProbeFields, SeedDeployBody } from './body-schemas.js';

/** `POST /k8s/deploy/validate` and `/k8s/deployment/validate`: every problem of a deploy body, nothing changed. */
export const DeployValidation = Type.Object(
  {
    valid: Type.Boolean({ description: 'true when a deploy of this body would pass every check made here' }),
    problems: Type.Array(
      Type.Object({
        field: Type.String({ description: 'the path of the field, e.g. containers[0].ports[1].hostPort; "" for the body as a whole' }),
        message: Type.String({ description: 'what is wrong, and what is expected' }),
        conflict: Type.Optional(Type.Boolean({ description: 'true when the field is well formed but something else holds what it asks for now (a host port another order has: the deploy would answer 409)' })),
      }),
      { description: 'every problem found, in the order of the body; [] when valid' },
    ),
  },
  { $id: 'DeployValidation' },
);

export const DeployResult = Type.Object(
  {
    status: Type.Literal('OK'),
    id: Type.String(),
    namespace: Type.String(),
    region: Type.String(),
    containers: Type.Array(
      Type.Object({
        name: Type.String(),
        image: Type.String(),
        ports: Type.Array(Type.Object({ containerPort: Type.Integer(), hostPort: Type.Optional(Type.Integer()), protocol: Type.String() })),
      }),
    ),
    warnings: Type.Array(Type.String(), { description: 'e.g. an image registry that could not be asked, or why the cluster does not run this generation yet' }),
    generation: Type.Integer({
      description:
        "The order's generation this deploy recorded. Only the reconcile leader writes to Kubernetes: the answer waits up to VKUBE_APPLY_WAIT_MS (default 5 s) for it to apply this generation, and answers either way",
    }),
    applied: Type.Boolean({
      description:
        'true: the cluster holds this generation (its pod may still be starting; see GET /k8s/pod/status). false: recorded, not applied yet (a warning says why); the leader applies it as soon as it can',
    }),
  },
  { $id: 'DeployResult' },
);

export const StorageStatus = Type.Object(
  {
    claim: Type.String({ description: "the volume claim's name in the order's namespace (\"data\")" }),
    phase: Type.Union([Type.Literal('Pending'), Type.Literal('Bound'), Type.Literal('Lost')], {
      description: "the claim's phase as Kubernetes reports it; Pending too while the claim does not exist yet",
    }),
    message: Type.String({ description: 'what is going on, in plain words for the customer, e.g. why the volume cannot be created' }),
    reason: Type.Optional(Type.String({ description: "Kubernetes' reason the message was drawn from: an event about the claim (ProvisioningFailed, FailedBinding, ExternalProvisioning, WaitForFirstConsumer, …) or the pod's scheduling condition (Unschedulable)" })),
    detail: Type.Optional(Type.String({ description: "Kubernetes' own words for it (the event's or the scheduler's message)" })),
  },
  {
    description: "The order's persistent volume (persistStorage), present only when the pod mounts one",
    examples: [
      {
        claim: 'data',
        phase: 'Pending',
        message: 'Your storage volume cannot be created: the cluster has no storage class named "fast-ssd". Your provider has to create it or change V-Kube\'s storage class; your container waits until then.',
        reason: 'ProvisioningFailed',
        detail: 'storageclass.storage.k8s.io "fast-ssd" not found',
      },
    ],
  },
);

export const Termination = Type.Object(
  {
    reason: Type.String({ description: "Kubernetes' reason: OOMKilled (over its memory limit), Error (exited non-zero, or killed after a failed liveness probe), Completed (exit 0), ContainerCannotRun, StartError, …" }),
    exitCode: Type.Integer({ description: '137 is SIGKILL (memory limit, or a liveness probe that failed), 143 SIGTERM' }),
    signal: Type.Optional(Type.Integer()),
    message: Type.Optional(Type.String({ description: "the runtime's or the container's termination message" })),
    startedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    killedBy: Type.Optional(
      Type.Union([Type.Literal('livenessProbe'), Type.Literal('startupProbe')], {
        description: "the kubelet killed it because this probe failed (from its Killing event; the reason alone may say Completed when the app exits cleanly on SIGTERM)",
      }),
    ),
  },
  { description: 'How one run of a container ended' },
);

export const ContainerHealth = Type.Object(
  {
    name: Type.String(),
    ready: Type.Boolean({ description: 'false while a readiness probe fails (the pod is then not Ready either)' }),
    restartCount: Type.Integer({ description: 'how often Kubernetes restarted it in this pod' }),
    state: Type.Union([Type.Literal('running'), Type.Literal('waiting'), Type.Literal('terminated'), Type.Literal('unknown')], { description: 'what the current instance does' }),
    reason: Type.Optional(Type.String({ description: 'why it waits, or why the current instance ended: CrashLoopBackOff, ContainerCreating, ImagePullBackOff, OOMKilled, …' })),
    message: Type.Optional(Type.String({ description: "Kubernetes' words with that reason (for CrashLoopBackOff, how long it backs off)" })),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'when the current instance started running, or ended' })),
    exitCode: Type.Optional(Type.Integer({ description: "the current instance's exit code, when it has ended" })),
    crashLoopBackOff: Type.Boolean({ description: 'Kubernetes waits before starting it again because it keeps stopping (the wait grows with each restart, up to a few minutes)' }),
    lastTermination: Type.Union([Termination, Type.Null()], { description: "how the previous instance ended (Kubernetes' lastState.terminated)" }),
    hasPreviousLog: Type.Boolean({ description: 'a previous instance is known: GET /k8s/pod/log?previous=true reads its log' }),
    summary: Type.String({ description: 'the state in one sentence, e.g. "keeps stopping: Kubernetes waits 40s before starting it again (CrashLoopBackOff); its last run exited with code 3 (Error); restarted 4 times"' }),
  },
  {
    description: 'Why one container stopped, restarts or is not ready',
    examples: [
      {
        name: 'app',
        ready: false,
        restartCount: 4,
        state: 'waiting',
        reason: 'CrashLoopBackOff',
        message: 'back-off 1m20s restarting failed container=app pod=workload-7f9c-abcde_vkube-…',
        crashLoopBackOff: true,
        lastTermination: { reason: 'Error', exitCode: 3, startedAt: '2026-01-01T10:00:00Z', finishedAt: '2026-01-01T10:00:01Z' },
        hasPreviousLog: true,
        summary: 'keeps stopping: Kubernetes waits 1m20s before starting it again (CrashLoopBackOff); its last run exited with code 3 (Error); restarted 4 times',
      },
    ],
  },
);

/** How a `GET /k8s/pod/status?wait=…` ended (pod-wait.ts). */
export const WaitOutcome = Type.Object(
  {
    for: Type.Union([Type.Literal('Running'), Type.Literal('Ready')]),
    met: Type.Boolean({ description: 'the pod of the latest deploy reached it' }),
    timedOut: Type.Boolean({ description: 'the time ran out first (met is then false)' }),
    waitedMs: Type.Integer(),
    message: Type.String({ description: 'what was reached, or why not: e.g. `pod workload-… will not become Running by itself: container app: CrashLoopBackOff (…)`' }),
  },
  { $id: 'WaitOutcome', description: 'Present only when the request asked to wait: how the wait ended' },
);

export const Endpoint = Type.Object(
  {
    container: Type.String({ description: 'the container the port belongs to' }),
    containerPort: Type.Integer(),
    protocol: Type.Union([Type.Literal('TCP'), Type.Literal('UDP')]),
    host: Type.Union([Type.String(), Type.Null()], {
      description: "the public host name or address: the provider's host for the region (VKUBE_PUBLIC_HOSTS), else the node's ExternalIP, or the custom domain; null when the node has no public address",
    }),
    hostPort: Type.Integer({ description: 'the host port (for a custom domain 443 with HTTPS, else 80)' }),
    url: Type.Optional(Type.String({ description: 'http://host:port/ for a TCP host port with a public host; the URL of a custom domain' })),
    source: Type.Union([Type.Literal('provider'), Type.Literal('node'), Type.Literal('domain'), Type.Literal('none')], {
      description: "where the public address comes from: the provider's setting, the node's ExternalIP, a custom domain; none when there is no public address",
    }),
    internalHost: Type.Optional(Type.String({ description: "only when there is no public address: the node's internal address, reachable from inside the provider's network only" })),
    note: Type.Optional(Type.String({ description: 'why there is no public address, in plain words' })),
  },
  {
    $id: 'Endpoint',
    description: 'Where the app is reached',
    examples: [
      { container: 'web', containerPort: 80, protocol: 'TCP', host: 'ausrine.example.com', hostPort: 41234, url: 'http://ausrine.example.com:41234/', source: 'provider' },
      { container: 'web', containerPort: 80, protocol: 'TCP', host: 'shop.example.com', hostPort: 443, url: 'https://shop.example.com/', source: 'domain' },
    ],
  },
);

export const PodStatus = Type.Object(
  {
    name: Type.String(),
    podStatus: Type.Object({}, { additionalProperties: true, description: "the Pod's status as Kubernetes returns it" }),
    podSpec: Type.Object({}, { additionalProperties: true, description: "the Pod's spec as Kubernetes returns it" }),
    annotations: Type.Record(Type.String(), Type.String()),
    storage: Type.Optional(StorageStatus),
    containers: Type.Optional(
      Type.Array(ContainerHealth, {
        description:
          'Why a container stopped, restarts or is not ready, one entry per container: its last termination (reason, exit code, when), restart count, crash-loop back-off, readiness. ' +
          'Present once there is something to explain (a container restarted, has ended, waits, or runs without being ready); absent while every container runs its first instance and is ready, and before the kubelet reports any container (a pod not scheduled yet).',
      }),
    ),
    wait: Type.Optional(WaitOutcome),
    // Optional in the schema only so clients of older V-Kubes (without it) still type-check; V-Kube always sends it.
    domains: Type.Optional(
      Type.Array(Type.Object({ domain: Type.String(), containerPort: Type.Integer(), isHttps: Type.Boolean() }), {
        description: "the order's custom domains (POST /k8s/pod/ingress); [] when none: the original clients' domain menu reads them here",
      }),
    ),
    // Optional in the schema for the same reason; V-Kube always sends it ([] without host ports or domains).
    endpoints: Type.Optional(Type.Array(Type.Ref('Endpoint'), { description: 'where the app is reached: each published host port at its public address, and each custom domain as a URL' })),
  },
  { $id: 'PodStatus', additionalProperties: true },
);

/**
 * Fastify's own validation off for the route: its body is checked against the published
 * schema by body-contract.ts (strictly, after authentication), query and headers by the
 * handler and the domain, naming fields as the contract does.
 */
export const validatedByDomain = { validatorCompiler: () => (data: unknown) => ({ value: data }) };
