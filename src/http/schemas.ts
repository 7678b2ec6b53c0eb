/**
 * Schemas shared by the routes. They declare the wire format (and feed the OpenAPI
 * document); bodies that the domain validates itself are documented here and checked
 * there, so the field names in its errors match the contract.
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

export const PortSpecBody = Type.Object({
  containerPort: Type.Integer({ minimum: 1, maximum: 65535 }),
  hostPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  protocol: Type.Optional(Type.Union([Type.Literal('TCP'), Type.Literal('UDP')])),
});

const Argv = Type.Union([Type.String({ description: 'newline-separated' }), Type.Array(Type.String())]);

export const SeedDeployBody = Type.Object(
  {
    nodeSelector: Type.Optional(Type.Object({ region: Type.String() }, { description: "defaults to the order's region" })),
    containers: Type.Array(
      Type.Object({
        name: Type.String({ description: 'DNS-1123 label, unique in the pod' }),
        imageName: Type.String({ description: 'nginx, nginx:1.27, user/app:tag, ghcr.io/o/app@sha256:…' }),
        ports: Type.Optional(Type.Array(PortSpecBody)),
        resource: Type.Object({ memory: Type.String({ description: 'Kubernetes quantity, e.g. 100Mi' }) }),
        command: Type.Optional(Argv),
        args: Type.Optional(Argv),
        envs: Type.Optional(Type.Array(Type.Object({ name: Type.String(), value: Type.String() }))),
      }),
      { minItems: 1 },
    ),
    pvtLogin: Type.Optional(Type.Array(Type.Object({ username: Type.String(), password: Type.String() }), { description: 'registry credentials, by container position' })),
  },
  {
    $id: 'SeedDeployBody',
    examples: [
      {
        nodeSelector: { region: 'ausrine' },
        containers: [{ name: 'container1', imageName: 'nginx', ports: [{ containerPort: 80, hostPort: 2999 }], resource: { memory: '100Mi' } }],
      },
    ],
  },
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

export const PodStatus = Type.Object(
  {
    name: Type.String(),
    podStatus: Type.Object({}, { additionalProperties: true, description: "the Pod's status as Kubernetes returns it" }),
    podSpec: Type.Object({}, { additionalProperties: true, description: "the Pod's spec as Kubernetes returns it" }),
    annotations: Type.Record(Type.String(), Type.String()),
    storage: Type.Optional(StorageStatus),
    // Optional in the schema only so clients of older V-Kubes (without it) still type-check; V-Kube always sends it.
    domains: Type.Optional(
      Type.Array(Type.Object({ domain: Type.String(), containerPort: Type.Integer(), isHttps: Type.Boolean() }), {
        description: "the order's custom domains (POST /k8s/pod/ingress); [] when none: the original clients' domain menu reads them here",
      }),
    ),
  },
  { $id: 'PodStatus', additionalProperties: true },
);

/** The domain validates these bodies itself, naming fields as the contract does. */
export const validatedByDomain = { validatorCompiler: () => (data: unknown) => ({ value: data }) };
