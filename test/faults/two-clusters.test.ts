/**
 * One V-Kube driving two clusters (issue 18): the shared local cluster ("first": ausrine,
 * giltine, and laima when it has the real node) and a second control plane this file
 * starts ("second": perkunas, zemyna; kwok nodes only — the real node of the first
 * already proves real containers, and the second's routing, Lease and outage need none).
 * A real V-Kube process with VKUBE_KUBECONFIGS, each cluster behind its least-privilege
 * identity. Then the second's API server is stopped with SIGSTOP — black-holed: the
 * kernel still accepts connections, nothing ever answers — past its Lease's duration:
 * the first keeps serving (the latencies are printed), the second's orders answer 503
 * naming the region, nothing is torn down, and once it answers again its orders are
 * served with the very same pods.
 */
import * as k8s from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type SecondCluster, startSecondCluster, testKubeconfig, vkubeKubeconfig } from '../../dev/cluster/testing.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { seedDeployBody } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';
import { type ServerProcess, startServerProcess } from '../helpers/server.js';

/**
 * The second cluster's port block (the first runs on VKUBE_CLUSTER_PORT_BASE): below
 * Linux's ephemeral range (32768-60999), so no client socket or throwaway server of the
 * test run (PostgreSQL picks a free port there) can hold one of its ports, and apart from
 * test/cluster/lifecycle.test.ts's 27543.
 */
const SECOND_PORT_BASE = Number(process.env.VKUBE_SECOND_CLUSTER_PORT_BASE ?? 28543);
/** Longer than the Lease (15 s): the second's Lease lapses while the first's is renewed. */
const OUTAGE_MS = Number(process.env.OUTAGE_MS ?? 25_000);

let second: SecondCluster | undefined;
let server: ServerProcess | undefined;
let secondCore: k8s.CoreV1Api;
let firstCore: k8s.CoreV1Api;
let stoppedPid: number | undefined;
/** Every order created here, aborted at the end so the shared cluster keeps no pod of this file. */
const created: string[] = [];
/** Host ports of this run: apart from any another run of this file left behind. */
const PORT = 23000 + Math.floor(Math.random() * 900);

interface Order {
  id: string;
  secret: string;
}

async function call(method: string, path: string, opts: { secret?: string; body?: unknown; admin?: boolean } = {}): Promise<{ status: number; json: unknown; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${server!.url}${path}`, {
    method,
    headers: {
      ...(opts.secret ? { secret: opts.secret } : {}),
      ...(opts.admin ? { authorization: `Bearer ${server!.adminToken}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, ms: performance.now() - started };
}

async function deployedOrder(region: string, hostPort: number): Promise<Order> {
  const { id, secret } = await server!.createOrder({ serviceOptions: { resourceUnit: '2-Unit-Resource', region } });
  created.push(id);
  const res = await call('POST', '/api/v1/k8s/deploy', { secret, body: seedDeployBody(hostPort, '100Mi', region) });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  await runningPod({ id, secret });
  return { id, secret };
}

async function runningPod(order: Order): Promise<string> {
  return eventually(
    async () => {
      const res = await call('GET', '/api/v1/k8s/pod/status', { secret: order.secret });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      const s = res.json as { name: string; podStatus: { phase?: string } };
      assert.equal(s.podStatus.phase, 'Running');
      return s.name;
    },
    { timeoutMs: 90_000 },
  );
}

async function podUids(core: k8s.CoreV1Api, orderId: string): Promise<string[]> {
  const pods = await core.listNamespacedPod({ namespace: namespaceOf(orderId) });
  return pods.items.map((p) => p.metadata!.uid!).sort();
}

function stats(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1);
  return `n=${sorted.length} p50=${q(0.5)} ms p95=${q(0.95)} ms max=${sorted[sorted.length - 1]!.toFixed(1)} ms`;
}

function coreOf(kubeconfig: string): k8s.CoreV1Api {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc.makeApiClient(k8s.CoreV1Api);
}

describe('one V-Kube, two clusters', { timeout: 900_000 }, () => {
  let firstOrder: Order;
  let secondOrder: Order;

  before(async () => {
    second = await startSecondCluster({ portBase: SECOND_PORT_BASE, regions: [{ name: 'perkunas', nodes: 1 }, { name: 'zemyna', nodes: 1 }], log: (out) => console.log(out.trim()) });
    secondCore = coreOf(second.kubeconfig);
    firstCore = coreOf(testKubeconfig());
    server = await startServerProcess({
      VKUBE_KUBECONFIGS: `first=${await vkubeKubeconfig()},second=${second.vkubeKubeconfig}`,
      VKUBE_KUBE_HEARTBEAT_MS: '1000',
    });
  });

  after(async () => {
    if (stoppedPid) process.kill(stoppedPid, 'SIGCONT');
    // Aborted while V-Kube still runs, so its reconciler deletes their namespaces (the second cluster goes anyway).
    for (const id of created) await call('POST', `/api/v1/admin/orders/${id}/abort`, { admin: true }).catch(() => {});
    await eventually(async () => {
      for (const id of created) await assert.rejects(firstCore.readNamespace({ name: namespaceOf(id) }));
    }, { timeoutMs: 60_000 }).catch(() => {});
    await server?.stop();
    await second?.stop();
  });

  it('lists both clusters, their regions and room; /readyz names each', async () => {
    const regions = await call('GET', '/api/v1/k8s/regions');
    for (const r of ['ausrine', 'giltine', 'perkunas', 'zemyna']) assert.ok((regions.json as string[]).includes(r), `${r} in ${JSON.stringify(regions.json)}`);
    const ready = await call('GET', '/readyz');
    assert.equal(ready.status, 200, JSON.stringify(ready.json));
    assert.deepEqual((ready.json as { checks: { clusters: unknown } }).checks.clusters, { first: 'ok', second: 'ok' });

    const admin = await call('GET', '/api/v1/admin/clusters', { admin: true });
    assert.equal(admin.status, 200, JSON.stringify(admin.json));
    const view = admin.json as { clusters: Array<{ name: string; ready: boolean; leader: boolean; regions: Array<{ region: string; nodes: number; readyNodes: number; memoryBytes: number }> }>; conflicts: string[] };
    assert.deepEqual(view.clusters.map((c) => c.name), ['first', 'second']);
    assert.deepEqual(view.conflicts, []);
    const secondView = view.clusters[1]!;
    assert.equal(secondView.ready, true);
    assert.equal(secondView.leader, true, 'a lone replica holds both Leases');
    assert.deepEqual(secondView.regions.map((r) => [r.region, r.nodes, r.readyNodes]), [['perkunas', 1, 1], ['zemyna', 1, 1]]);
    assert.equal(secondView.regions[0]!.memoryBytes, 32 * 2 ** 30);
    assert.ok(view.clusters[0]!.regions.some((r) => r.region === 'giltine' && r.readyNodes === 2));
  });

  it('deploys in each cluster: every order lands in the cluster of its region', async () => {
    firstOrder = await deployedOrder('giltine', PORT + 1);
    secondOrder = await deployedOrder('zemyna', PORT + 2);
    assert.equal((await podUids(secondCore, secondOrder.id)).length, 1, "the second cluster runs the zemyna order's pod");
    assert.equal((await podUids(firstCore, firstOrder.id)).length, 1, "the first cluster runs the giltine order's pod");
    await assert.rejects(secondCore.readNamespace({ name: namespaceOf(firstOrder.id) }), 'the giltine order has no namespace in the second cluster');
    const ns = await secondCore.readNamespace({ name: namespaceOf(secondOrder.id) });
    assert.equal(ns.metadata?.labels?.['vkube.dev/region'], 'zemyna');

    const taken = await call('POST', '/api/v1/k8s/checkports', { body: { region: 'zemyna', ports: [PORT + 2, PORT + 1] } });
    assert.deepEqual(taken.json, { occupied: [PORT + 2], status: 'PortsOccupied' });
    const metrics = await (await fetch(`${server!.url}/metrics`)).text();
    assert.match(metrics, /vkube_cluster_source_up\{source="apiserver",cluster="second"\} 1/);
    assert.match(metrics, /vkube_cluster_leader\{cluster="first"\} 1/);
  });

  it('keeps serving the first while the second is black-holed; the second answers 503 naming its region; nothing is recreated when it returns', async () => {
    const uidsBefore = await podUids(secondCore, secondOrder.id);
    stoppedPid = await second!.pidOf('kube-apiserver');
    process.kill(stoppedPid, 'SIGSTOP');
    const stoppedAt = performance.now();

    // The dark cluster's order: 503 naming the region, once the heartbeat has missed twice.
    const dark = await eventually(
      async () => {
        const res = await call('GET', '/api/v1/k8s/pod/status', { secret: secondOrder.secret });
        assert.equal(res.status, 503, JSON.stringify(res.json));
        return res;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const detectMs = performance.now() - stoppedAt;
    assert.match((dark.json as { error: { message: string } }).error.message, /region zemyna \(cluster second\)/);
    const darkLog = await call('GET', '/api/v1/k8s/pod/log', { secret: secondOrder.secret });
    assert.equal(darkLog.status, 503);
    assert.match((darkLog.json as { error: { message: string } }).error.message, /zemyna/);
    const darkPorts = await call('POST', '/api/v1/k8s/checkports', { body: { region: 'zemyna', ports: [PORT + 5] } });
    assert.deepEqual(darkPorts.json, { occupied: [], status: 'InternalErr' });
    const darkDeploy = await call('POST', '/api/v1/k8s/deploy', { secret: secondOrder.secret, body: seedDeployBody(PORT + 2, '200Mi', 'zemyna') });
    assert.equal(darkDeploy.status, 503, JSON.stringify(darkDeploy.json));
    assert.match((darkDeploy.json as { error: { message: string } }).error.message, /zemyna/);
    const darkMs = [dark.ms, darkLog.ms, darkPorts.ms, darkDeploy.ms];

    const ready = await call('GET', '/readyz');
    assert.equal(ready.status, 200, 'V-Kube stays ready: the first cluster serves');
    const clusters = (ready.json as { checks: { clusters: Record<string, string> } }).checks.clusters;
    assert.equal(clusters.first, 'ok');
    assert.match(clusters.second!, /unreachable/);

    // The first cluster, meanwhile, as usual: reads, checks, logs, and writes (its own Lease).
    const lat: Record<string, number[]> = { regions: [], checkports: [], status: [], log: [], deploy: [] };
    let newFirst: Order | undefined;
    while (performance.now() - stoppedAt < OUTAGE_MS) {
      const r = await call('GET', '/api/v1/k8s/regions');
      assert.equal(r.status, 200);
      assert.ok((r.json as string[]).includes('giltine'));
      lat.regions!.push(r.ms);
      const c = await call('POST', '/api/v1/k8s/checkports', { body: { region: 'giltine', ports: [PORT + 1, PORT + 3] } });
      assert.deepEqual(c.json, { occupied: [PORT + 1], status: 'PortsOccupied' });
      lat.checkports!.push(c.ms);
      const s = await call('GET', '/api/v1/k8s/pod/status', { secret: firstOrder.secret });
      assert.equal(s.status, 200, JSON.stringify(s.json));
      lat.status!.push(s.ms);
      const l = await call('GET', '/api/v1/k8s/pod/log?tailLines=5', { secret: firstOrder.secret });
      assert.equal(l.status, 200, JSON.stringify(l.json));
      lat.log!.push(l.ms);
      if (!newFirst && performance.now() - stoppedAt > 16_000) {
        // Past the second's Lease: a new order on the first is still written and applied.
        const { id, secret } = await server!.createOrder({ serviceOptions: { resourceUnit: '2-Unit-Resource', region: 'ausrine' } });
        created.push(id);
        const d = await call('POST', '/api/v1/k8s/deploy', { secret, body: seedDeployBody(PORT + 4, '100Mi', 'ausrine') });
        assert.equal(d.status, 200, JSON.stringify(d.json));
        assert.equal((d.json as { applied?: boolean }).applied, true, `applied while the second is dark: ${JSON.stringify(d.json)}`);
        lat.deploy!.push(d.ms);
        newFirst = { id, secret };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(newFirst, 'a deploy ran on the first cluster during the outage');
    const metrics = await (await fetch(`${server!.url}/metrics`)).text();
    assert.match(metrics, /vkube_cluster_leader\{cluster="first"\} 1/, 'the first keeps its Lease');
    assert.match(metrics, /vkube_cluster_leader\{cluster="second"\} 0/, "the second's Lease lapsed: no write goes there");

    process.kill(stoppedPid, 'SIGCONT');
    stoppedPid = undefined;
    const resumedAt = performance.now();
    await eventually(
      async () => {
        const res = await call('GET', '/api/v1/k8s/pod/status', { secret: secondOrder.secret });
        assert.equal(res.status, 200, JSON.stringify(res.json));
        assert.equal((res.json as { podStatus: { phase?: string } }).podStatus.phase, 'Running');
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const recoverMs = performance.now() - resumedAt;
    assert.deepEqual(await podUids(secondCore, secondOrder.id), uidsBefore, 'the same pod: nothing was torn down or recreated');
    await runningPod(newFirst);
    await eventually(async () => {
      const text = await (await fetch(`${server!.url}/metrics`)).text();
      assert.match(text, /vkube_cluster_leader\{cluster="second"\} 1/);
    });
    const back = await call('GET', '/readyz');
    assert.deepEqual((back.json as { checks: { clusters: unknown } }).checks.clusters, { first: 'ok', second: 'ok' });

    console.log(
      [
        `second cluster black-holed ${(OUTAGE_MS / 1000).toFixed(0)} s: its orders answered 503 naming the region after ${(detectMs / 1000).toFixed(1)} s (those 503s took ${darkMs.map((m) => m.toFixed(0)).join('/')} ms); served again ${(recoverMs / 1000).toFixed(1)} s after it resumed, same pod`,
        ...Object.entries(lat).map(([k, v]) => `  first cluster meanwhile, ${k}: ${stats(v)}`),
      ].join('\n'),
    );
  });
});
