/**
 * The deploy bodies as published: the seed's (`POST /k8s/deploy`), the original
 * clients' (`POST /k8s/deployment`, `/update`) and the Probe component both carry.
 * These schemas are the validator of those bodies (body-contract.ts): every rule of
 * deploy-spec.ts that a JSON Schema can say is said here, built from deploy-spec.ts's own
 * constants; what it cannot say (a known region, names and ports unique in the pod,
 * units and memory summed over containers, reserved host ports, the image reference
 * grammar, exactly one probe handler) the descriptions name and the domain checks.
 *
 * What is accepted, decided once for both shapes:
 * - an optional field may be absent or null (Go and Python clients send null for an
 *   unset slice or pointer); for strings "" is absent too where the clients send it;
 * - `hostPort` 0 means no host port, as absent does (the seed's document gives the range
 *   as 0–65536 and Go clients send 0 for "unset"); 1–65535 otherwise;
 * - `protocol` is `TCP` or `UDP` in capitals, as Kubernetes writes it ("udp" is refused,
 *   as Kubernetes refuses it); absent, null or "" is TCP; a probe's `scheme` likewise;
 * - a container name is a DNS label: at most 63 characters.
 */
import { type Static, type TSchema, Type } from 'typebox';
import {
  ABSOLUTE_PATH,
  DNS_LABEL,
  ENV_NAME,
  MAX_CONTAINERS,
  MAX_ENV_NAME,
  MAX_EXPOSED_PATH,
  MAX_PATH,
  MAX_PROBE_COMMAND_ITEMS,
  MAX_PROBE_PATH,
  MEMORY_QUANTITY,
  PROBE_BOUNDS,
  URL_PATH,
} from '../domain/deploy-spec.js';
import { MAX_TOKEN_HOURS } from '../domain/authenticator.js';
import { DOMAIN_INPUT } from '../domain/custom-domains.js';
import { EMAIL, MAX_EMAIL } from '../domain/notify/contacts.js';
import { MAX_ORDER_HOURS } from '../domain/orders.js';
import { LABEL_VALUE } from '../domain/workload-updates.js';

/** Optional, and null reads as absent. */
const nullable = <T extends TSchema>(schema: T, description?: string) =>
  Type.Optional(Type.Union([schema, Type.Null()], description ? { description } : {}));

/** Free text (file contents, values, credentials): the domain reads at most 1 MiB of one string. */
const text = (description?: string) => Type.String({ maxLength: 1024 * 1024, ...(description ? { description } : {}) });

/** A regex of deploy-spec.ts, or "" (which the domain reads as absent). */
const orEmpty = (re: RegExp) => `(?:^$)|(?:${re.source})`;

const port = (description?: string) => Type.Integer({ minimum: 1, maximum: 65535, ...(description ? { description } : {}) });

export const PortSpecBody = Type.Object({
  containerPort: port('the port the container listens on; unique in the pod per protocol'),
  hostPort: nullable(
    Type.Integer({ minimum: 0, maximum: 65535 }),
    'the node port published for it: 1–65535, unique in the pod, never a port the provider reserved (22, the kubelet\'s, the NodePort range, …); 0, null or absent: none. ' +
      'Ignored when the order\'s portSpecification is "System Random Map Port" (V-Kube picks it)',
  ),
  protocol: nullable(Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('')]), 'TCP or UDP, in capitals; "", null or absent: TCP'),
});

const Argv = nullable(
  Type.Union([Type.String({ maxLength: 64 * 1024, description: 'newline-separated' }), Type.Array(Type.String())]),
  'a newline-separated string or a list of strings; at most 64 KiB in all; "" or null: the image\'s own',
);

const Env = Type.Array(
  Type.Object({
    name: Type.String({ pattern: ENV_NAME.source, maxLength: MAX_ENV_NAME, description: 'letters, digits, "_", "-", "."; not starting with a digit; unique in the container' }),
    value: nullable(Type.Union([text(), Type.Number(), Type.Boolean()]), 'a number or true/false is taken as its text; null or absent: ""'),
  }),
);

const AbsolutePath = (description: string) =>
  Type.String({ pattern: orEmpty(ABSOLUTE_PATH), maxLength: MAX_PATH, description: `${description}: an absolute path (not "/", no "..", no ":"); "" is none` });

const Login = Type.Object({ username: nullable(text()), password: nullable(text()) });

const bounded = (field: keyof typeof PROBE_BOUNDS, description: string) =>
  nullable(Type.Integer({ minimum: PROBE_BOUNDS[field][0], maximum: PROBE_BOUNDS[field][1] }), description);

/** A container's health check, as Kubernetes takes it. */
export const ProbeBody = Type.Object(
  {
    httpGet: nullable(
      Type.Object({
        path: nullable(Type.String({ pattern: orEmpty(URL_PATH), maxLength: MAX_PROBE_PATH }), 'URL path starting with /, no spaces; default /; 200–399 is healthy'),
        port: port('a port the container listens on'),
        scheme: nullable(Type.Union([Type.Literal('HTTP'), Type.Literal('HTTPS'), Type.Literal('')]), 'HTTP (default) or HTTPS, in capitals; HTTPS skips certificate checks'),
      }),
    ),
    tcpSocket: nullable(Type.Object({ port: port() }, { description: 'healthy when a connection opens' })),
    exec: nullable(
      Type.Object(
        {
          command: Type.Union(
            [
              Type.Array(Type.String(), { minItems: 1, maxItems: MAX_PROBE_COMMAND_ITEMS }),
              Type.String({ pattern: '[^\\n]', maxLength: 4096, description: 'newline-separated' }),
            ],
            {
              description: `run inside the container, no shell unless you name one (["sh", "-c", "…"]); exit 0 is healthy. The first item names the program (not ""); at most ${MAX_PROBE_COMMAND_ITEMS} items, 4 KiB in all`,
            },
          ),
        },
        { description: 'a program run in the container' },
      ),
    ),
    initialDelaySeconds: bounded('initialDelaySeconds', 'wait this long after the container starts before the first check (default 0)'),
    periodSeconds: bounded('periodSeconds', 'how often to check (default 10)'),
    timeoutSeconds: bounded('timeoutSeconds', 'how long one check may take (default 1)'),
    failureThreshold: bounded('failureThreshold', 'failures in a row before it counts (default 3)'),
    successThreshold: bounded('successThreshold', 'successes in a row before it counts again (default 1; must be 1 except for readinessProbe)'),
  },
  {
    $id: 'Probe',
    description:
      'Exactly one of httpGet, tcpSocket, exec (the others absent or null). Other fields Kubernetes knows (httpGet.host, httpHeaders, grpc, …) are not taken: checks go to the pod itself.',
    examples: [{ httpGet: { path: '/healthz', port: 80 }, periodSeconds: 5, failureThreshold: 3 }],
  },
);

/**
 * A reference to the Probe component with a description of its own (a description beside
 * a bare $ref is dropped by the document generator; beside anyOf it stays).
 */
const probeRef = (description: string) => Type.Optional(Type.Unsafe<Static<typeof ProbeBody> | null>({ anyOf: [Type.Ref('Probe'), Type.Null()], description }));

/** The three probes a container may carry, in both deploy bodies (one Probe component, registered in openapi.ts). */
export const ProbeFields = {
  startupProbe: probeRef('Until it succeeds, liveness and readiness checks wait; when it fails failureThreshold times the container is restarted. For slow starters.'),
  readinessProbe: probeRef('While it fails the container, and so the pod, is not Ready (GET /k8s/pod/status says so); nothing is restarted.'),
  livenessProbe: probeRef('When it fails failureThreshold times in a row the container is killed and restarted (its last termination then shows it).'),
};

/** The fields both shapes' containers share. */
const containerFields = {
  name: Type.String({ pattern: DNS_LABEL.source, maxLength: 63, description: 'a DNS label: lowercase letters, digits and "-", at most 63, starting and ending with a letter or digit; unique in the pod' }),
  imageName: Type.String({ minLength: 1, description: 'an image reference: nginx, nginx:1.27, user/app:tag, ghcr.io/o/app@sha256:… (its grammar is checked by the server)' }),
  ports: nullable(Type.Array(PortSpecBody)),
  envs: nullable(Env, 'environment variables'),
  env: nullable(Env, 'the same as envs (the spelling of a VKubefile); envs wins when both are given'),
  command: Argv,
  args: Argv,
  mountPath: nullable(AbsolutePath("where the order's persistent volume is mounted (only for orders with persistStorage \"Yes\")")),
  configMountPath: nullable(AbsolutePath('where `config` is mounted as a file (required with config)')),
  config: nullable(text('the text of a configuration file, mounted at configMountPath')),
  configMap: nullable(
    Type.Object({}, { additionalProperties: text(), propertyNames: { pattern: ABSOLUTE_PATH.source, maxLength: MAX_PATH }, description: 'configuration files: absolute path in the container → text' }),
  ),
  exposedPorts: nullable(
    Type.Array(
      Type.Object({
        path: Type.Optional(Type.String({ pattern: orEmpty(URL_PATH), maxLength: MAX_EXPOSED_PATH, description: 'URL path starting with /, no spaces; "" or absent: /' })),
        rewrite: Type.Optional(Type.Boolean()),
        containerPort: port('one of the container\'s TCP ports'),
      }),
    ),
  ),
  ...ProbeFields,
};

const pvtLogin = nullable(Type.Array(Type.Union([Login, Type.Null()])), 'registry credentials, by container position (no more than containers)');

const nodeSelector = Type.Optional(
  Type.Object({ region: nullable(Type.String(), 'one of GET /k8s/regions; "", null or absent: the order\'s region') }, { description: "defaults to the order's region" }),
);

export const SeedDeployBody = Type.Object(
  {
    nodeSelector,
    containers: Type.Array(
      Type.Object({
        ...containerFields,
        resource: Type.Object({
          memory: Type.String({
            pattern: MEMORY_QUANTITY.source,
            description: "a Kubernetes quantity such as 100Mi or 1Gi, at least 4Mi; the containers' sum at most the order's units × the memory of one unit",
          }),
        }),
      }),
      { minItems: 1, maxItems: MAX_CONTAINERS, description: "no more than the order's units allow" },
    ),
    pvtLogin,
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

export const ClientDeployBody = Type.Object(
  {
    nodeSelector,
    containers: Type.Array(
      Type.Object({
        ...containerFields,
        resourceUnit: Type.Optional(Type.Integer({ minimum: 1, description: "default 1; the containers' sum at most the order's units" })),
      }),
      { minItems: 1, maxItems: MAX_CONTAINERS, description: "no more than the order's units allow" },
    ),
    pvtLogin,
  },
  { $id: 'ClientDeployBody' },
);

// ---- the other write bodies: each says every rule its domain parser applies that a schema can say ----

const Ports = (maxItems: number) =>
  Type.Array(port(), { minItems: 1, maxItems, description: `1 to ${maxItems} port numbers; none, or no region, is refused as "item field empty"` });

/** `POST /k8s/checkports` (the seed's). */
export const CheckPortsBody = Type.Object(
  {
    region: Type.String({ minLength: 1 }),
    ports: Ports(1000),
    userServiceID: nullable(Type.String(), "with that order's `secret` header, leaves out the ports the order holds"),
  },
  { examples: [{ region: 'ausrine', ports: [22, 3306, 1234, 1111] }] },
);

/** `POST /k8s/ports/state`. */
export const PortsStateBody = Type.Object({ region: Type.String({ minLength: 1 }), ports: Ports(1000) }, { examples: [{ region: 'ausrine', ports: [22, 8080] }] });

const hours = (max: number, description: string) => Type.Integer({ minimum: 1, maximum: max, description });

/** `POST /admin/orders`. */
export const NewOrderBody = Type.Object(
  {
    serviceID: nullable(Type.String({ maxLength: 128 }), 'default: a new id'),
    service: nullable(Type.String({ maxLength: 256 })),
    serviceCategoryID: nullable(Type.String({ maxLength: 128 })),
    provider: nullable(Type.String({ maxLength: 256 })),
    address: nullable(Type.String({ maxLength: 256 })),
    recipient: nullable(Type.String({ maxLength: 256 })),
    amount: nullable(Type.Number({ minimum: 0 })),
    amountPaid: nullable(Type.Number({ minimum: 0 }), 'default: amount'),
    duration: hours(MAX_ORDER_HOURS, 'hours'),
    serviceOptions: nullable(
      Type.Object(
        {
          region: Type.Optional(Type.String({ description: 'one of GET /k8s/regions; "" or absent: none (a deploy may then name any)' })),
          resourceUnit: Type.Optional(Type.String({ pattern: '^\\s*(?!0+-)(?:\\d{1,3}|0\\d{3}|1000)-Unit-Resource\\s*$', description: 'N-Unit-Resource, N from 1 to 1000; default 1', examples: ['2-Unit-Resource'] })),
          portSpecification: Type.Optional(Type.Union([Type.Literal('User Specified Service Port'), Type.Literal('System Random Map Port')], { description: 'default User Specified Service Port' })),
          persistStorage: Type.Optional(Type.Union([Type.Literal('Yes'), Type.Literal('No')], { description: 'default No' })),
        },
        { additionalProperties: Type.Union([Type.String(), Type.Number(), Type.Boolean()]), description: 'other options are kept as text' },
      ),
    ),
    publicKey: nullable(Type.String({ maxLength: 128, description: 'base58 Curve25519 public key (32 bytes)' })),
    email: nullable(Type.String({ maxLength: 320 })),
  },
  { examples: [{ duration: 720, serviceOptions: { region: 'ausrine', resourceUnit: '2-Unit-Resource' } }] },
);

/** `POST /admin/orders/{id}/renew`. */
export const RenewBody = Type.Object({ duration: hours(MAX_ORDER_HOURS, 'hours to add') });

/** `POST /k8s/tokens`. */
export const TokenBody = Type.Object({
  name: nullable(Type.String({ maxLength: 100 })),
  expiresInHours: nullable(hours(MAX_TOKEN_HOURS, 'null or absent: it never expires')),
});

/** `PUT /k8s/pod/update`. */
export const PodUpdateBody = Type.Object(
  {
    config: nullable(Type.Object({}, { additionalProperties: text(), description: "container name → the new text of its configuration file (a container deployed with configMountPath)" })),
    environment: nullable(
      Type.Object(
        {},
        {
          additionalProperties: Type.Object({}, { additionalProperties: Type.Union([text(), Type.Number(), Type.Boolean()]), propertyNames: { pattern: ENV_NAME.source } }),
          description: 'container name → {VARIABLE: value}',
        },
      ),
    ),
  },
  { description: 'at least one of config and environment, naming containers the pod has' },
);

/** `PATCH /k8s/pod/images`. */
export const ImagesBody = Type.Array(Type.Object({ image: Type.String({ minLength: 1, description: 'an image reference such as nginx:1.27' }), login: nullable(Login) }), {
  minItems: 1,
  description: 'one entry per container, in order (no more than the pod has)',
});

const Domain = Type.String({ pattern: DOMAIN_INPUT.source, description: 'a domain name such as app.example.com (any case; a trailing dot is dropped)' });

/** `POST /k8s/pod/ingress`. */
export const IngressAddBody = Type.Object({
  domain: Domain,
  containerPort: nullable(port(), "one of the pod's TCP container ports; null or absent: its only one"),
  isLetsencrypt: Type.Optional(Type.Boolean({ description: 'HTTPS with a certificate from cert-manager' })),
  isEncryByself: Type.Optional(Type.Literal(false, { description: 'bringing your own certificate is not supported' })),
});

/** `PATCH /k8s/pod/ingress`. */
export const IngressPatchBody = Type.Object({ action: Type.Union([Type.Literal('Add'), Type.Literal('Del')]), domains: Type.Array(Domain, { minItems: 1, description: 'at most 20 per order in all' }) });

export const AnnotationBody = Type.Object({ description: Type.String({ maxLength: 1024 }) });

export const LabelBody = Type.Object({
  customizedLabel: Type.String({ maxLength: 63, pattern: LABEL_VALUE.source, description: 'a Kubernetes label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit' }),
});

const Email = Type.String({ pattern: EMAIL.source, maxLength: MAX_EMAIL, description: 'an e-mail address such as name@example.com', examples: ['me@example.com'] });

/** The contact API's bodies (the market CLI's). */
export const ContactBody = Type.Object({ type: Type.Literal('email'), contact: Email });
export const VerifyBody = Type.Object({
  type: Type.Literal('email'),
  contact: Email,
  code: Type.Union([Type.String({ pattern: '^[0-9]{6}$' }), Type.Integer({ minimum: 0, maximum: 999999 })], { description: 'the 6-digit code that was mailed (a number is read with its leading zeros)' }),
});

/** `POST /admin/webhooks`. */
export const webhookBody = (eventType: TSchema) =>
  Type.Object(
    {
      url: Type.String({ maxLength: 2048, pattern: '^[Hh][Tt][Tt][Pp][Ss]?://', description: 'http:// or https://, without credentials, to a public address' }),
      secret: Type.String({ minLength: 16, maxLength: 256, description: 'key of X-VKube-Signature; never shown again' }),
      events: Type.Optional(Type.Array(eventType, { description: 'the events wanted; all when absent or []' })),
    },
    { examples: [{ url: 'https://provider.example.com/vkube-events', secret: 'a-long-random-secret', events: ['order.created', 'pod.crashloop'] }] },
  );
