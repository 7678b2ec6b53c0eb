/**
 * Does the cluster agree with the database? The properties a provider relies on after
 * any crash or outage, checked against the real database file and the real API:
 * no lost order, no missing workload for a running order, no orphan namespace, no
 * leaked or doubled host-port lease, no host port used by two orders' pods.
 */
import Database from 'better-sqlite3';
import type { KubeHttp } from '../../src/cluster/kube-http.js';
import { DEPLOYMENT_NAME, ORDER_LABEL, SPEC_GENERATION_ANNOTATION, namespaceOf } from '../../src/domain/manifests.js';
import { INSTALLATION_LABEL } from '../../src/domain/reconciler.js';

interface OrderRow {
  id: string;
  service_status: string;
  spec: string | null;
  spec_generation: number;
  region: string;
}

interface LeaseRow {
  region: string;
  port: number;
  protocol: string;
  order_id: string;
}

interface Spec {
  region: string;
  containers: Array<{ ports: Array<{ hostPort?: number; protocol: string }> }>;
}

const LIVE = new Set(['ServicePending', 'ServiceRunning', 'ServiceStop']);

export async function checkInvariants(databaseFile: string, kube: KubeHttp, expectedOrders: string[]): Promise<string[]> {
  const db = new Database(databaseFile, { readonly: true, fileMustExist: true });
  let orders: OrderRow[];
  let leases: LeaseRow[];
  let installation: string | undefined;
  try {
    orders = db.prepare('select id, service_status, spec, spec_generation, region from orders').all() as OrderRow[];
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
    }
    if (!LIVE.has(o.service_status) && namespace && !namespace.metadata.deletionTimestamp) problems.push(`order ${o.id} is ${o.service_status} but its namespace still exists`);
  }
  for (const n of namespaces) {
    const id = n.metadata.labels?.[ORDER_LABEL];
    if (id && !byId.has(id) && !n.metadata.deletionTimestamp) problems.push(`namespace ${n.metadata.name} belongs to no order (orphan)`);
  }

  // Leases: held by live orders, exactly the host ports of their spec, never two per port.
  const seen = new Set<string>();
  for (const l of leases) {
    const key = `${l.region}/${l.port}/${l.protocol}`;
    if (seen.has(key)) problems.push(`port ${key} is leased twice`);
    seen.add(key);
    const o = byId.get(l.order_id);
    if (!o || !LIVE.has(o.service_status)) problems.push(`lease ${key} is held by ${o ? `${o.service_status} ` : 'no '}order ${l.order_id} (leaked)`);
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
