/**
 * The Kubernetes objects that make up one order's workload. Pure: the reconciler
 * applies what this returns (server-side apply), so everything about how a workload
 * looks in the cluster is decided here and nowhere else.
 *
 * One namespace per order, holding: a ResourceQuota and LimitRange sized from the
 * order's units, a deny-by-default NetworkPolicy, registry pull Secrets, ConfigMaps
 * for configuration files, the persistent volume claim when the order has storage,
 * and one Deployment (one replica, `Recreate`: a rolling update with host ports would
 * wait forever for the port the old pod holds).
 */
import { type KubeManifest, NAMESPACE_REGION_LABEL, SPEC_GENERATION_LABEL } from '../cluster/gateway.js';
import type { UnitCatalogue } from '../config.js';
import type { DomainClaim, OrderRecord } from './records.js';
import type { ContainerSpec, DeploySpec, PortSpec, Protocol } from './deploy-spec.js';
import { formatBytes, formatMillicores } from '../kernel/quantity.js';

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'vkube' } as const;
export const ORDER_LABEL = 'vkube.dev/order';
export const SPEC_GENERATION_ANNOTATION = 'vkube.dev/spec-generation';
export const RESTART_ANNOTATION = 'vkube.dev/restart-generation';
export const DEPLOYMENT_NAME = 'workload';
export const DATA_CLAIM = 'data';

/** Capabilities a container keeps (everything else is dropped): what common images need to start as root and drop privileges. */
export const ALLOWED_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID', 'NET_BIND_SERVICE', 'KILL'] as const;

/** Destinations a tenant's pod may not reach: private ranges (nodes, control plane, other tenants) and link-local metadata. */
export const BLOCKED_EGRESS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '127.0.0.0/8'];

export interface WorkloadInput {
  order: Pick<OrderRecord, 'id' | 'units' | 'specGeneration' | 'restartGeneration' | 'description' | 'customLabel'>;
  spec: DeploySpec;
  units: UnitCatalogue;
  regionLabel: string;
  /** 1 to run, 0 when the customer stopped the service. */
  replicas: 0 | 1;
  persistStorage: boolean;
  /**
   * StorageClass of the order's volume claim; undefined leaves `storageClassName` out, so
   * the cluster's default class is used. The reconciler passes the class an existing
   * claim already has: Kubernetes refuses to change it.
   */
  storageClass: string | undefined;
  /** Custom domains routed to the workload through Ingress objects. */
  domains: DomainClaim[];
  ingress: { className: string; tlsIssuer: string };
}

export const DESCRIPTION_ANNOTATION = 'vkube.dev/description';
export const CUSTOM_LABEL = 'vkube.dev/custom-label';
export const SERVICE_NAME = 'workload';

export function namespaceOf(orderId: string): string {
  return `vkube-${orderId}`;
}

export function orderLabels(orderId: string): Record<string, string> {
  return { ...MANAGED_BY, [ORDER_LABEL]: orderId };
}

/** The Namespace alone: applied first, and kept while the order lives even with nothing deployed. */
export function namespaceManifest(orderId: string): KubeManifest {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespaceOf(orderId),
      // No Pod Security Admission label: its baseline level forbids host ports, which
      // are the product. V-Kube's own admission policy guards these namespaces.
      labels: orderLabels(orderId),
    },
  };
}

/**
 * What isolates an order's namespace: the namespace, a ResourceQuota and LimitRange sized
 * from the order's units, and the deny-by-default NetworkPolicy (which opens the pod's
 * published ports by name, see `networkPolicy`). Applied when the order is sold, so a
 * first deploy only adds the workload, and again before every Deployment: no pod of an
 * order ever exists without them.
 */
export function isolationManifests(order: Pick<OrderRecord, 'id' | 'units'> & Partial<Pick<OrderRecord, 'region'>>, units: UnitCatalogue, spec: DeploySpec | null): KubeManifest[] {
  const ns = namespaceOf(order.id);
  const labels = orderLabels(order.id);
  const meta = (name: string) => ({ name, namespace: ns, labels });
  const memory = order.units * units.memoryBytes;
  const cpu = order.units * units.cpuMillis;
  const namespace = namespaceManifest(order.id);
  // The region it is for: with several clusters, it says which cluster the namespace belongs in.
  const region = spec?.region ?? order.region;
  if (region) namespace.metadata.labels = { ...namespace.metadata.labels, [NAMESPACE_REGION_LABEL]: region };
  return [
    namespace,
    {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: meta('order-quota'),
      spec: {
        hard: {
          'requests.memory': formatBytes(memory),
          'limits.memory': formatBytes(memory),
          'requests.cpu': formatMillicores(cpu),
          'limits.cpu': formatMillicores(cpu),
          // One pod runs; a second may exist briefly while a crashed one is replaced.
          pods: '2',
          'requests.storage': formatBytes(order.units * units.storageBytes),
          persistentvolumeclaims: '1',
          services: '4',
          'services.nodeports': '0',
          'services.loadbalancers': '0',
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: meta('order-limits'),
      spec: {
        limits: [
          {
            type: 'Container',
            default: { memory: formatBytes(units.memoryBytes), cpu: formatMillicores(units.cpuMillis) },
            defaultRequest: { memory: formatBytes(units.memoryBytes), cpu: formatMillicores(units.cpuMillis) },
            max: { memory: formatBytes(memory), cpu: formatMillicores(cpu) },
          },
        ],
      },
    },
    networkPolicy(ns, labels, spec, order.units * units.hostPorts),
  ];
}

export function workloadManifests(input: WorkloadInput): KubeManifest[] {
  const { order, spec, units } = input;
  const ns = namespaceOf(order.id);
  const labels = orderLabels(order.id);
  const meta = (name: string) => ({ name, namespace: ns, labels });
  // What pruning may delete carries the generation it was applied for.
  const prunableLabels = { ...labels, [SPEC_GENERATION_LABEL]: String(order.specGeneration) };
  const prunable = (name: string) => ({ name, namespace: ns, labels: prunableLabels });

  const objects: KubeManifest[] = isolationManifests(order, units, spec);

  spec.registryLogins.forEach((login, i) => {
    if (!login.username && !login.password) return;
    const registries = [...new Set(spec.containers.filter((c) => c.loginIndex === i).map((c) => registryHost(c.image)))];
    const auths: Record<string, { username: string; password: string; auth: string }> = {};
    for (const host of registries.length ? registries : ['https://index.docker.io/v1/']) {
      const key = host === 'docker.io' ? 'https://index.docker.io/v1/' : host;
      auths[key] = { username: login.username, password: login.password, auth: Buffer.from(`${login.username}:${login.password}`).toString('base64') };
    }
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: prunable(pullSecretName(i)),
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })).toString('base64') },
    });
  });

  for (const c of spec.containers) {
    if (c.configFiles.length === 0) continue;
    objects.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: prunable(configMapName(c.name)),
      data: Object.fromEntries(c.configFiles.map((f, i) => [configKey(i), f.content])),
    });
  }

  const wantsVolume = input.persistStorage && spec.containers.some((c) => c.mountPath);
  if (wantsVolume) {
    objects.push({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta(DATA_CLAIM),
      spec: {
        accessModes: ['ReadWriteOnce'],
        ...(input.storageClass !== undefined ? { storageClassName: input.storageClass } : {}),
        resources: { requests: { storage: formatBytes(order.units * units.storageBytes) } },
      },
    });
  }

  objects.push(deployment(input, ns, labels, wantsVolume));
  objects.push(...routing(input, ns, labels, prunableLabels));
  return objects;
}

/**
 * Custom domains: a ClusterIP Service in front of the pod and one Ingress per domain.
 * A domain routes "/" to its container port, or the paths the container exposes on
 * that port (`exposedPorts`, with a rewrite to "/" when asked). HTTPS domains get a
 * certificate from cert-manager (the ClusterIssuer the provider configured).
 */
function routing(input: WorkloadInput, ns: string, podLabels: Record<string, string>, labels: Record<string, string>): KubeManifest[] {
  if (input.domains.length === 0) return [];
  const ports = [...new Set(input.domains.map((d) => d.containerPort))].sort((a, b) => a - b);
  const service: KubeManifest = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SERVICE_NAME, namespace: ns, labels },
    spec: { type: 'ClusterIP', selector: podLabels, ports: ports.map((p) => ({ name: `tcp-${p}`, port: p, targetPort: p, protocol: 'TCP' })) },
  };
  const ingresses = input.domains.map((d): KubeManifest => {
    const exposed = input.spec.containers.flatMap((c) => c.exposedPorts).filter((e) => e.containerPort === d.containerPort);
    const rewrite = exposed.some((e) => e.rewrite);
    const paths = (exposed.length ? exposed : [{ path: '/', rewrite: false, containerPort: d.containerPort }]).map((e) => ({
      path: rewrite ? rewritePath(e.path) : e.path,
      pathType: rewrite ? 'ImplementationSpecific' : 'Prefix',
      backend: { service: { name: SERVICE_NAME, port: { number: d.containerPort } } },
    }));
    const annotations: Record<string, string> = {};
    if (rewrite) annotations['nginx.ingress.kubernetes.io/rewrite-target'] = '/$2';
    if (d.https) annotations['cert-manager.io/cluster-issuer'] = input.ingress.tlsIssuer;
    return {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: ingressName(d.domain), namespace: ns, labels, annotations },
      spec: {
        ingressClassName: input.ingress.className,
        rules: [{ host: d.domain, http: { paths } }],
        ...(d.https ? { tls: [{ hosts: [d.domain], secretName: `${ingressName(d.domain)}-tls` }] } : {}),
      },
    };
  });
  return [service, ...ingresses];
}

/** `www.example.com` → `domain-www-example-com` (a DNS label, unique per domain). */
export function ingressName(domain: string): string {
  const base = `domain-${domain.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`.slice(0, 50).replace(/-+$/, '');
  let h = 0;
  for (const ch of domain) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `${base}-${h.toString(36)}`;
}

function deployment(input: WorkloadInput, ns: string, labels: Record<string, string>, withVolume: boolean): KubeManifest {
  const { order, spec } = input;
  const volumes: unknown[] = [];
  if (withVolume) volumes.push({ name: DATA_CLAIM, persistentVolumeClaim: { claimName: DATA_CLAIM } });
  for (const c of spec.containers) {
    if (c.configFiles.length) volumes.push({ name: configVolumeName(c.name), configMap: { name: configMapName(c.name) } });
  }
  const pullSecrets = spec.registryLogins
    .map((l, i) => (l.username || l.password ? { name: pullSecretName(i) } : undefined))
    .filter((s): s is { name: string } => s !== undefined);

  const portNames = publishedPortNames(spec);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: DEPLOYMENT_NAME,
      namespace: ns,
      labels: { ...labels, ...(order.customLabel ? { [CUSTOM_LABEL]: order.customLabel } : {}) },
      annotations: {
        [SPEC_GENERATION_ANNOTATION]: String(order.specGeneration),
        ...(order.description ? { [DESCRIPTION_ANNOTATION]: order.description } : {}),
      },
    },
    spec: {
      replicas: input.replicas,
      strategy: { type: 'Recreate' },
      revisionHistoryLimit: 3,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: { [RESTART_ANNOTATION]: String(order.restartGeneration) } },
        spec: {
          nodeSelector: { [input.regionLabel]: spec.region },
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          hostNetwork: false,
          hostPID: false,
          hostIPC: false,
          securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
          terminationGracePeriodSeconds: 30,
          ...(pullSecrets.length ? { imagePullSecrets: pullSecrets } : {}),
          ...(volumes.length ? { volumes } : {}),
          containers: spec.containers.map((c, i) => container(c, withVolume, portNames?.[i])),
        },
      },
    },
  };
}

function container(c: ContainerSpec, withVolume: boolean, portNames: Array<string | undefined> | undefined): Record<string, unknown> {
  const mounts: unknown[] = [];
  if (withVolume && c.mountPath) mounts.push({ name: DATA_CLAIM, mountPath: c.mountPath, subPath: c.name });
  c.configFiles.forEach((f, i) => mounts.push({ name: configVolumeName(c.name), mountPath: f.path, subPath: configKey(i), readOnly: true }));
  return {
    name: c.name,
    image: c.image,
    imagePullPolicy: 'IfNotPresent',
    ...(c.command ? { command: c.command } : {}),
    ...(c.args ? { args: c.args } : {}),
    ports: c.ports.map((p, i) => ({ ...(portNames?.[i] ? { name: portNames[i] } : {}), containerPort: p.containerPort, protocol: p.protocol, ...(p.hostPort ? { hostPort: p.hostPort } : {}) })),
    ...(c.env.length ? { env: c.env } : {}),
    resources: {
      requests: { memory: formatBytes(c.memoryBytes), cpu: formatMillicores(c.cpuMillis) },
      limits: { memory: formatBytes(c.memoryBytes), cpu: formatMillicores(c.cpuMillis) },
    },
    ...(mounts.length ? { volumeMounts: mounts } : {}),
    // Already in Kubernetes' shape (deploy-spec.ts validated and bounded every field).
    ...(c.probes ?? {}),
    securityContext: {
      privileged: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'], add: [...ALLOWED_CAPABILITIES] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

/**
 * A port is published when it has a host port, or when a custom domain's paths expose it
 * (the ingress controller, in another namespace, connects to it).
 */
function isPublished(c: ContainerSpec, p: PortSpec): boolean {
  return p.hostPort !== undefined || (p.protocol === 'TCP' && c.exposedPorts.some((e) => e.containerPort === p.containerPort));
}

/**
 * Names of each protocol the policy opens ahead of a deploy, at most: a provider allowing
 * hundreds of host ports per unit would otherwise get a policy of thousands of entries for
 * every order. A spec publishing more gets them opened at its deploy.
 */
export const NAMES_OPENED_AHEAD = 16;

/** The name of the `index`-th published port of a protocol in a pod (at most 15 characters, as Kubernetes requires). */
export function publishedPortName(protocol: Protocol, index: number): string {
  return `pub-${protocol.toLowerCase()}-${index}`;
}

/**
 * The names of a pod's published ports, by container and port (undefined: not published),
 * numbered per protocol in the spec's order: `pub-tcp-0`, `pub-tcp-1`, `pub-udp-0`, …
 * Undefined for a spec recorded before ports were named (`DeploySpec.namedPorts`).
 */
function publishedPortNames(spec: DeploySpec): Array<Array<string | undefined>> | undefined {
  if (!spec.namedPorts) return undefined;
  const next: Record<Protocol, number> = { TCP: 0, UDP: 0 };
  return spec.containers.map((c) => c.ports.map((p) => (isPublished(c, p) ? publishedPortName(p.protocol, next[p.protocol]++) : undefined)));
}

/**
 * Deny by default, in and out: the pod talks to its own namespace, to DNS and to public
 * addresses, and is reached from its own namespace and, from anywhere, on its published
 * ports. Those are opened by name (the pod's published ports carry the names,
 * `publishedPortNames`), as many of each protocol as the order may publish as host ports
 * (`capacity`, up to NAMES_OPENED_AHEAD), or as the spec publishes when that is more. So
 * the policy made at sale is the one every deploy of the order needs: a deploy writes no
 * policy (one write fewer before its pod runs), and the node's policy enforcer
 * (kube-router, Calico, …) has no policy change to apply at each deploy. A spec recorded
 * before ports were named keeps a policy of port numbers until its next deploy, so that no
 * running pod is restarted to rename its ports.
 */
function networkPolicy(ns: string, labels: Record<string, string>, spec: DeploySpec | null, capacity: number): KubeManifest {
  const opened: Array<{ port: number | string; protocol: Protocol }> = [];
  if (spec && !spec.namedPorts) {
    for (const c of spec.containers) for (const p of c.ports) if (isPublished(c, p)) opened.push({ port: p.containerPort, protocol: p.protocol });
  } else {
    const used: Record<Protocol, number> = { TCP: 0, UDP: 0 };
    for (const c of spec?.containers ?? []) for (const p of c.ports) if (isPublished(c, p)) used[p.protocol]++;
    for (const protocol of ['TCP', 'UDP'] as const) {
      for (let i = 0; i < Math.max(Math.min(capacity, NAMES_OPENED_AHEAD), used[protocol]); i++) opened.push({ port: publishedPortName(protocol, i), protocol });
    }
  }
  const ingress: unknown[] = [{ from: [{ podSelector: {} }] }];
  if (opened.length) ingress.push({ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: opened });
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'order-isolation', namespace: ns, labels },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress,
      egress: [
        { to: [{ podSelector: {} }] },
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }],
          ports: [
            { port: 53, protocol: 'UDP' },
            { port: 53, protocol: 'TCP' },
          ],
        },
        { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: BLOCKED_EGRESS } }] },
      ],
    },
  };
}

export function pullSecretName(index: number): string {
  return `registry-login-${index}`;
}

export function configMapName(container: string): string {
  return `config-${container}`;
}

function configVolumeName(container: string): string {
  return `config-${container}`;
}

function configKey(index: number): string {
  return `file-${index}`;
}

/** The registry host of an image reference, as a docker config key expects it. */
function registryHost(image: string): string {
  const first = image.split('/')[0]!;
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

/**
 * The nginx regex of an exposed path whose prefix is cut before the request reaches the
 * container (rewrite-target `/$2`). The root keeps a leading slash — Kubernetes refuses a
 * path that does not start with one — and its rewrite changes nothing.
 */
function rewritePath(path: string): string {
  const base = path.replace(/\/$/, '');
  return base ? `${base}(/|$)(.*)` : '/()(.*)';
}
