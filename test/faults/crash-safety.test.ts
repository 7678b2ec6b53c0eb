/**
 * Crash safety: the V-Kube process is SIGKILLed at random moments while deploys,
 * updates, stops, aborts and expiries are in flight. After each restart the cluster
 * and the database must agree (test/helpers/invariants.ts) without any help. And one
 * SIGKILL at a chosen moment: between a teardown's namespace deletion and its release
 * of the host ports.
 */
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { KubeError, KubeHttp } from '../../src/cluster/kube-http.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { eventually } from '../helpers/eventually.js';
import { checkInvariants } from '../helpers/invariants.js';
import { type ServerProcess, startServerProcess } from '../helpers/server.js';

const TRIALS = Number(process.env.CRASH_TRIALS ?? 32);
const PORTS = Array.from({ length: 12 }, (_, i) => 7000 + i);

let server: ServerProcess;
let kube: KubeHttp;
const created: string[] = [];
const secrets = new Map<string, string>();

before(async () => {
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
  server = await startServerProcess({ env: { VKUBE_RECONCILE_INTERVAL_MS: '300', LOG_LEVEL: 'error' } });
});
after(async () => {
  // Cleanup: an order already ended answers 409, and the other orders must still be aborted.
  for (const id of created) await call('POST', `/api/v1/admin/orders/${id}/abort`, {}, { authorization: `Bearer ${server.adminToken}` }).catch(() => {});
  await server.stop();
  kube.close();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  // A body that is not JSON (a proxy's page, a connection cut mid-answer) leaves `json` undefined; callers check `status` first.
  return { status: res.status, json: await res.json().catch(() => undefined) };
}

function pick<T>(items: T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

function deployBody(port: number, memory: string): unknown {
  return { nodeSelector: { region: 'giltine' }, containers: [{ name: 'app', imageName: 'nginx:1.27', ports: [{ containerPort: 80, hostPort: port }], resource: { memory } }] };
}

/** One random operation against the running server; errors (the kill) are expected. */
async function operation(kind: string): Promise<void> {
  const admin = { authorization: `Bearer ${server.adminToken}` };
  const live = created.filter((id) => secrets.has(id));
  switch (kind) {
    case 'create+deploy': {
      const res = await call('POST', '/api/v1/admin/orders', { duration: 24, serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } }, admin);
      if (res.status !== 201) return;
      const { order, secret } = res.json as { order: { id: string }; secret: string };
      created.push(order.id);
      secrets.set(order.id, secret);
      await call('POST', '/api/v1/k8s/deploy', deployBody(pick(PORTS), '64Mi'), { secret });
      return;
    }
    case 'update':
      if (live.length) await call('POST', '/api/v1/k8s/deploy', deployBody(pick(PORTS), pick(['64Mi', '96Mi', '128Mi'])), { secret: secrets.get(pick(live))! });
      return;
    case 'stop':
    case 'start':
    case 'restart':
      if (live.length) await call('POST', `/api/v1/k8s/pod/${kind}`, {}, { secret: secrets.get(pick(live))! });
      return;
    case 'abort':
      if (live.length) {
        const id = pick(live);
        secrets.delete(id);
        await call('POST', `/api/v1/admin/orders/${id}/abort`, {}, admin);
      }
      return;
    case 'expire':
      // Time passing, as the database sees it: the order's end is now behind it.
      if (live.length) {
        const id = pick(live);
        const db = new Database(server.databaseFile);
        db.pragma('busy_timeout = 5000');
        db.prepare("update orders set end_at = ? where id = ? and service_status in ('ServiceRunning','ServiceStop')").run(Math.floor(Date.now() / 1000) - 1, id);
        db.close();
        secrets.delete(id);
      }
      return;
  }
}

async function converged(): Promise<string[]> {
  const deadline = Date.now() + 45_000;
  let problems: string[] = [];
  while (Date.now() < deadline) {
    problems = await checkInvariants(server.databaseFile, kube, created);
    if (problems.length === 0) return [];
    await new Promise((r) => setTimeout(r, 500));
  }
  return problems;
}

describe('crash safety', () => {
  it(`converges after ${TRIALS} SIGKILLs at random points of deploys, updates, stops, aborts and expiries`, { timeout: 30 * 60_000 }, async () => {
    const kinds = ['create+deploy', 'create+deploy', 'update', 'update', 'stop', 'start', 'restart', 'abort', 'expire'];
    const failures: string[] = [];
    for (let trial = 1; trial <= TRIALS; trial++) {
      const burst = Array.from({ length: 2 + Math.floor(Math.random() * 4) }, () => pick(kinds));
      const inFlight = Promise.allSettled(burst.map((k) => operation(k)));
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 250)));
      await server.kill();
      await inFlight;
      server = await server.restart();
      const problems = await converged();
      if (problems.length) failures.push(`trial ${trial} (${burst.join(', ')}): ${problems.join('; ')}`);
    }
    console.log(`crash safety: ${TRIALS} trials, ${created.length} orders, ${failures.length} failures`);
    assert.deepEqual(failures, []);
  });
});

/** What the database says of an order's teardown and leases, read beside the running process. */
function teardownRow(orderId: string): { teardown: string | null; ports: number[] } {
  const db = new Database(server.databaseFile, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('select teardown from orders where id = ?').get(orderId) as { teardown: string | null };
    const ports = (db.prepare('select port from port_leases where order_id = ? order by port').all(orderId) as Array<{ port: number }>).map((r) => r.port);
    return { teardown: row.teardown, ports };
  } finally {
    db.close();
  }
}

describe('a crash between namespace deletion and lease release', () => {
  it('is finished after the restart: the host port is freed once the namespace is gone', { timeout: 5 * 60_000 }, async () => {
    const admin = { authorization: `Bearer ${server.adminToken}` };
    const order = await server.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
    created.push(order.id);
    const deployed = await call('POST', '/api/v1/k8s/deploy', deployBody(7099, '64Mi'), { secret: order.secret });
    assert.equal(deployed.status, 200, JSON.stringify(deployed.json));
    const ns = namespaceOf(order.id);
    // A restarted process leads only once the killed one's Lease has lapsed: the deploy may be recorded before it is applied.
    await eventually(() => kube.get(`/api/v1/namespaces/${ns}`), { timeoutMs: 60_000 });
    // A finalizer of the test's own holds the namespace in Terminating: V-Kube's deletion is accepted, the namespace is not gone.
    await kube.mergePatch(`/api/v1/namespaces/${ns}`, { metadata: { finalizers: ['vkube.test/hold'] } });
    assert.equal((await call('POST', `/api/v1/admin/orders/${order.id}/abort`, {}, admin)).status, 200);
    await eventually(async () => {
      const namespace = await kube.get<{ metadata: { deletionTimestamp?: string } }>(`/api/v1/namespaces/${ns}`);
      assert.ok(namespace.metadata.deletionTimestamp, 'V-Kube deleted the namespace');
    });
    assert.deepEqual(teardownRow(order.id), { teardown: 'Terminating', ports: [7099] }, 'the port stays leased while the namespace is there');

    await server.kill();
    // While V-Kube is down, Kubernetes finishes the deletion.
    await kube.mergePatch(`/api/v1/namespaces/${ns}`, { metadata: { finalizers: null } });
    await eventually(() => assert.rejects(kube.get(`/api/v1/namespaces/${ns}`), (e: unknown) => e instanceof KubeError && e.status === 404), { timeoutMs: 60_000 });
    assert.deepEqual(teardownRow(order.id), { teardown: 'Terminating', ports: [7099] }, 'nobody released it while V-Kube was down');

    server = await server.restart();
    await eventually(() => assert.deepEqual(teardownRow(order.id), { teardown: 'Done', ports: [] }), { timeoutMs: 60_000 });
    const check = await call('POST', '/api/v1/k8s/checkports', { region: 'giltine', ports: [7099] });
    assert.deepEqual(check.json, { occupied: [], status: 'NotOccupied' });
    assert.deepEqual(await converged(), []);
  });
});
