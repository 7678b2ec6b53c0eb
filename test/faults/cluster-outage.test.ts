/**
 * The kube-apiserver goes away for 30 seconds under load. V-Kube must answer 503 (not
 * 500, never hang) for what needs the cluster, keep answering what does not, delete no
 * workload, and recover by itself when the API comes back.
 */
import type { LightMyRequestResponse } from 'fastify';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startComponent, stopComponent, testKubeClient } from '../../dev/cluster/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { type TestApp, seedDeployBody, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';
import { checkInvariants } from '../helpers/invariants.js';

const OUTAGE_MS = Number(process.env.OUTAGE_MS ?? 30_000);

let t: TestApp;
let kube: KubeHttp;

before(async () => {
  t = await startTestApp({ reconcileLoop: true, env: { VKUBE_RECONCILE_INTERVAL_MS: '500' } });
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
});
after(async () => {
  await t.close();
  kube.close();
});

async function podUids(orderId: string): Promise<string[]> {
  const pods = await kube.get<{ items: Array<{ metadata: { uid: string } }> }>(`/api/v1/namespaces/${namespaceOf(orderId)}/pods`);
  return pods.items.map((p) => p.metadata.uid).sort();
}

describe('kube-apiserver outage', () => {
  it(`answers 503 during ${OUTAGE_MS / 1000} s without the API, deletes nothing, and recovers by itself`, { timeout: 5 * 60_000 }, async () => {
    const orders = await Promise.all([7701, 7702, 7703].map(async (port) => {
      const o = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
      const res = await t.tenant(o.secret).post('/api/v1/k8s/deploy', seedDeployBody(port, '64Mi', 'giltine'));
      assert.equal(res.statusCode, 200, res.body);
      return o;
    }));
    for (const o of orders) await eventually(async () => assert.equal((await podUids(o.id)).length, 1));
    const before = await Promise.all(orders.map((o) => podUids(o.id)));
    const waiting = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });

    const apiserver = await stopComponent('kube-apiserver');
    const seen = new Map<string, Set<number>>();
    const slowest = { ms: 0, what: '' };
    try {
      const until = Date.now() + OUTAGE_MS;
      let round = 0;
      while (Date.now() < until) {
        const [o1, o2] = [orders[round % 3]!, orders[(round + 1) % 3]!];
        const calls: Array<[string, () => Promise<LightMyRequestResponse>]> = [
          ['status', () => t.tenant(o1.secret).get('/api/v1/k8s/pod/status')],
          ['log', () => t.tenant(o2.secret).get('/api/v1/k8s/pod/log')],
          ['deploy', () => t.tenant(waiting.secret).post('/api/v1/k8s/deploy', seedDeployBody(7704, '64Mi', 'giltine'))],
          ['update', () => t.tenant(o1.secret).post('/api/v1/k8s/deploy', seedDeployBody(7701, '80Mi', 'giltine'))],
          ['order', () => t.tenant(o2.secret).get('/api/v1/k8s/order')],
          ['regions', () => t.app.inject('/api/v1/k8s/regions')],
          ['checkports', () => t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload: { region: 'giltine', ports: [7701] } })],
          ['readyz', () => t.app.inject('/readyz')],
        ];
        await Promise.all(
          calls.map(async ([what, call]) => {
            const started = Date.now();
            const res = await call();
            const ms = Date.now() - started;
            if (ms > slowest.ms) Object.assign(slowest, { ms, what });
            if (!seen.has(what)) seen.set(what, new Set());
            seen.get(what)!.add(res.statusCode);
            assert.ok(res.statusCode < 500 || res.statusCode === 503, `${what}: ${res.statusCode} ${res.body}`);
            assert.doesNotThrow(() => res.json(), `${what} answers JSON`);
          }),
        );
        round++;
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await startComponent(apiserver);
    }
    const codes = Object.fromEntries([...seen].map(([k, v]) => [k, [...v].sort()]));
    console.log(`outage: status codes seen ${JSON.stringify(codes)}; slowest answer ${slowest.ms} ms (${slowest.what})`);
    assert.ok(slowest.ms < 20_000, `no call hung: slowest ${slowest.ms} ms (${slowest.what})`);
    for (const what of ['status', 'log', 'deploy', 'readyz']) assert.ok(seen.get(what)?.has(503), `${what} answered 503 during the outage`);
    assert.deepEqual([...seen.get('order')!], [200], 'what needs only the database keeps working');
    assert.ok(seen.get('regions')!.has(200), 'regions answers 200 ([]) as the seed says');

    // Back: caches resync, the loop resumes, nothing was deleted, the recorded update lands.
    await eventually(async () => assert.equal((await t.app.inject('/readyz')).statusCode, 200), { timeoutMs: 90_000, intervalMs: 500 });
    await eventually(async () => assert.equal((await t.tenant(orders[0]!.secret).get('/api/v1/k8s/pod/status')).statusCode, 200), { timeoutMs: 60_000 });
    const after = await Promise.all(orders.map((o) => podUids(o.id)));
    assert.deepEqual(after.slice(1), before.slice(1), 'the untouched workloads kept their pods');
    await eventually(async () => assert.deepEqual(await checkInvariants(t.config.databaseUrl.slice('sqlite:'.length), kube, [...orders.map((o) => o.id), waiting.id]), []), { timeoutMs: 60_000 });
  });
});
