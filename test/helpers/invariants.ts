/**
 * Does the cluster agree with the database? The properties a provider relies on after
 * any crash or outage, checked against the real database file and the real API:
 * no lost order, every object of a running order's set present (namespace, quota,
 * limits, network policy, pull Secrets, ConfigMaps, volume claim, Deployment) at the
 * stored generation and nothing of another generation left, no orphan namespace, no
 * leaked or doubled host-port lease (an ended order holds its leases only while it is
 * Terminating), no host port used by two orders' pods.
 */
import Database from 'better-sqlite3';
import { SPEC_GENERATION_LABEL } from '../../src/cluster/gateway.js';
import type { KubeHttp } from '../../src/cluster/kube-http.js';
import { DATA_CLAIM, DEPLOYMENT_NAME, ORDER_LABEL, SPEC_GENERATION_ANNOTATION, configMapName, namespaceOf, pullSecretName } from '../../src/domain/manifests.js';
import { INSTALLATION_LABEL } from '../../src/domain/reconciler.js';

interface OrderRow {
  id: string;
  service_status: string;
  spec: string | null;
  spec_generation: number;
  region: string;
  service_options: string;
  teardown: string | null;
}

interface Meta {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string };
}

/** The kinds of an order's set besides the namespace and Deployment, as the API lists them across namespaces. */
const SET_KINDS = {
  ResourceQuota: '/api/v1/resourcequotas',
  LimitRange: '/api/v1/limitranges',
  NetworkPolicy: '/apis/networking.k8s.io/v1/networkpolicies',
  Secret: '/api/v1/secrets',
  ConfigMap: '/api/v1/configmaps',
  PersistentVolumeClaim: '/api/v1/persistentvolumeclaims',
} as const;

interface LeaseRow {
  region: string;
  port: number;
  protocol: string;
  order_id: string;
}

interface Spec {
  region: string;
  containers: Array<{ name: string; mountPath?: string; configFiles: unknown[]; ports: Array<{ hostPort?: number; protocol: string }> }>;
  registryLogins: Array<{ username: string; password: string }>;
}

/** The names, by kind, of what the order's set must hold for this spec (manifests.ts). */
function expectedSet(spec: Spec, persistStorage: boolean): Record<keyof typeof SET_KINDS, string[]> {
  return {
    ResourceQuota: ['order-quota'],
    LimitRange: ['order-limits'],
    NetworkPolicy: ['order-isolation'],
    Secret: spec.registryLogins.flatMap((l, i) => (l.username || l.password ? [pullSecretName(i)] : [])),
    ConfigMap: spec.containers.filter((c) => c.configFiles.length > 0).map((c) => configMapName(c.name)),
    PersistentVolumeClaim: persistStorage && spec.containers.some((c) => c.mountPath) ? [DATA_CLAIM] : [],
  };
}

const LIVE = new Set(['ServicePending', 'ServiceRunning', 'ServiceStop']);

export async function checkInvariants(databaseFile: string, kube: KubeHttp, expectedOrders: string[]): Promise<string[]> {
  const db = new Database(databaseFile, { readonly: true, fileMustExist: true });
  let orders: OrderRow[];
  let leases: LeaseRow[];
  let installation: string | undefined;
  try {
    orders = db.prepare('select id, service_status, spec, spec_generation, region, service_options, teardown from orders').all() as OrderRow[];
    leases = db.prepare('select region, port, protocol, order_id from port_leases').all() as LeaseRow[];
    installation = (db.prepare("select value from settings where key = 'installation_id'").get() as { value: string } | undefined)?.value;
  } finally {
    db.close();
  }
  const problems: string[] = [];
  const byId = new Map(orders.map((o) => [o.id, o]));
  for (const id of expectedOrders) if (!byId.has(id)) problems.push(`order ${id} was lost`);

  const namespaces = (await kube.get<{ items: Array<{ metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string } }> }>('/api/v1/namespaces', { query: { labelSelector: `${INSTALLATION_LABEL}=${installation}` } })).items;
  const deployments = (await kube.get<{ items: Array<{ metadata: { namespace: string; name: string; annotations?: Record<string, string> }; spec: { replicas: number } }> }>('/apis/apps/v1/deployments', { query: { labelSelector: `${INSTALLATION_LABEL}=${installation}` } })).items;
  const setObjects = Object.fromEntries(
    await Promise.all(
      Object.entries(SET_KINDS).map(async ([kind, path]) => [kind, (await kube.get<{ items: Meta[] }>(path, { query: { labelSelector: 'app.kubernetes.io/managed-by=vkube' } })).items] as const),
    ),
  ) as Record<keyof typeof SET_KINDS, Meta[]>;
  const pods = (await kube.get<{ items: Array<{ metadata: { namespace: string; name: string; labels?: Record<string, string>; deletionTimestamp?: string }; spec: { nodeName?: string; containers: Array<{ ports?: Array<{ hostPort?: number; protocol?: string }> }> }; status: { phase?: string } }> }>('/api/v1/pods', { query: { labelSelector: 'app.kubernetes.io/managed-by=vkube' } })).items;

  for (const o of orders) {
    const ns = namespaceOf(o.id);
    const namespace = namespaces.find((n) => n.metadata.name === ns);
    if ((o.service_status === 'ServiceRunning' || o.service_status === 'ServiceStop') && o.spec) {
      if (!namespace || namespace.metadata.deletionTimestamp) {
        problems.push(`order ${o.id} is ${o.service_status} but its namespace is ${namespace ? 'being deleted' : 'missing'}`);
        continue;
      }
      const d = deployments.find((x) => x.metadata.namespace === ns && x.metadata.name === DEPLOYMENT_NAME);
      if (!d) problems.push(`order ${o.id} is ${o.service_status} but has no Deployment`);
      else {
        if (d.metadata.annotations?.[SPEC_GENERATION_ANNOTATION] !== String(o.spec_generation)) {
          problems.push(`order ${o.id}: Deployment at spec generation ${d.metadata.annotations?.[SPEC_GENERATION_ANNOTATION]}, database at ${o.spec_generation}`);
        }
        const want = o.service_status === 'ServiceRunning' ? 1 : 0;
        if (d.spec.replicas !== want) problems.push(`order ${o.id} is ${o.service_status} but its Deployment has ${d.spec.replicas} replicas`);
      }
      const persist = (JSON.parse(o.service_options) as Record<string, string>).persistStorage === 'Yes';
      for (const [kind, names] of Object.entries(expectedSet(JSON.parse(o.spec) as Spec, persist)) as Array<[keyof typeof SET_KINDS, string[]]>) {
        const present = setObjects[kind].filter((x) => x.metadata.namespace === ns && !x.metadata.deletionTimestamp);
        for (const name of names) if (!present.some((x) => x.metadata.name === name)) problems.push(`order ${o.id} is ${o.service_status} but its ${kind} ${name} is missing`);
        // What pruning owns carries the spec generation it was applied for: none of another may be left.
        for (const x of present) {
          const gen = x.metadata.labels?.[SPEC_GENERATION_LABEL];
          if (gen !== undefined && gen !== String(o.spec_generation)) problems.push(`order ${o.id}: ${kind} ${x.metadata.name} of spec generation ${gen} left beside ${o.spec_generation}`);
          if (gen !== undefined && !names.includes(x.metadata.name)) problems.push(`order ${o.id}: ${kind} ${x.metadata.name} is not in its spec`);
        }
      }
    }
    if (!LIVE.has(o.service_status) && namespace && !namespace.metadata.deletionTimestamp) problems.push(`order ${o.id} is ${o.service_status} but its namespace still exists`);
    if (!LIVE.has(o.service_status) && o.teardown !== 'Terminating' && o.teardown !== 'Done') problems.push(`order ${o.id} is ${o.service_status} without a teardown state`);
    if (o.teardown === 'Terminating' && !namespace) problems.push(`order ${o.id}: its namespace is gone but its teardown is still Terminating`);
  }
  for (const n of namespaces) {
    const id = n.metadata.labels?.[ORDER_LABEL];
    if (id && !byId.has(id) && !n.metadata.deletionTimestamp) problems.push(`namespace ${n.metadata.name} belongs to no order (orphan)`);
  }

  // Leases: held by live orders (or ended ones still Terminating), exactly the host ports of their spec, never two per port.
  const seen = new Set<string>();
  for (const l of leases) {
    const key = `${l.region}/${l.port}/${l.protocol}`;
    if (seen.has(key)) problems.push(`port ${key} is leased twice`);
    seen.add(key);
    const o = byId.get(l.order_id);
    if (!o || (!LIVE.has(o.service_status) && o.teardown !== 'Terminating')) problems.push(`lease ${key} is held by ${o ? `${o.service_status} ` : 'no '}order ${l.order_id} (leaked)`);
  }
  for (const o of orders) {
    if (!LIVE.has(o.service_status) || !o.spec) continue;
    const spec = JSON.parse(o.spec) as Spec;
    const want = spec.containers.flatMap((c) => c.ports.filter((p) => p.hostPort).map((p) => `${spec.region}/${p.hostPort}/${p.protocol}`)).sort();
    const have = leases.filter((l) => l.order_id === o.id).map((l) => `${l.region}/${l.port}/${l.protocol}`).sort();
    if (JSON.stringify(want) !== JSON.stringify(have)) problems.push(`order ${o.id}: spec host ports ${want.join(',') || 'none'} but leases ${have.join(',') || 'none'}`);
  }

  // Pods: one owner per host port per node.
  const used = new Map<string, string>();
  for (const p of pods) {
    if (p.metadata.deletionTimestamp || p.status.phase === 'Failed' || p.status.phase === 'Succeeded' || !p.spec.nodeName) continue;
    for (const c of p.spec.containers) {
      for (const port of c.ports ?? []) {
        if (!port.hostPort) continue;
        const key = `${p.spec.nodeName}/${port.hostPort}/${port.protocol ?? 'TCP'}`;
        const owner = p.metadata.labels?.[ORDER_LABEL] ?? p.metadata.namespace;
        if (used.has(key) && used.get(key) !== owner) problems.push(`host port ${key} used by pods of ${used.get(key)} and ${owner}`);
        used.set(key, owner);
      }
    }
  }
  return problems;
}
