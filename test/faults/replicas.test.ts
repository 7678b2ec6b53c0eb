/**
 * Several V-Kube replicas on one PostgreSQL and one cluster: host ports stay unique
 * however deploys race across replicas, exactly one replica runs the reconcile loop,
 * and when the leader dies another takes over within a lease period.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { testPostgres } from '../../dev/postgres/testing.js';
import { KubeError, KubeHttp } from '../../src/cluster/kube-http.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { eventually } from '../helpers/eventually.js';
import { leaderGauge, type ServerProcess, startServerProcess } from '../helpers/server.js';

const LEASE_SECONDS = 4;
const replicas: ServerProcess[] = [];
const orders: string[] = [];
let kube: KubeHttp;

before(async () => {
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
  const postgres = await testPostgres();
  const url = await postgres.createDatabase();
  const env = { DATABASE_URL: url, VKUBE_LEADER_LEASE_SECONDS: String(LEASE_SECONDS), VKUBE_RECONCILE_INTERVAL_MS: '500' };
  // The first one migrates the database; the second finds it up to date.
  replicas.push(await startServerProcess({ env }));
  replicas.push(await startServerProcess({ env }));
});
after(async () => {
  // The leader may be dead by now: abort through whichever replica answers.
  for (const id of orders) {
    for (const r of replicas) {
      // Cleanup: a replica the test killed does not answer; the next one is asked.
      const res = await fetch(`${r.url}/api/v1/admin/orders/${id}/abort`, { method: 'POST', headers: { authorization: `Bearer ${r.adminToken}` } }).catch(() => undefined);
      if (res?.status === 200 || res?.status === 409) break;
    }
  }
  // Cleanup: a replica already killed by the test has nothing to stop.
  for (const r of replicas) await r.stop().catch(() => {});
  kube.close();
});

describe('replicas on one PostgreSQL', () => {
  it('racing deploys for the same host ports across two replicas never double-book', { timeout: 120_000 }, async () => {
    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => replicas[i % 2]!.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'ausrine' } })));
    orders.push(...created.map((o) => o.id));
    const results = await Promise.all(
      created.map(async (o, i) => {
        const r = replicas[i % 2]!;
        const res = await fetch(`${r.url}/api/v1/k8s/deploy`, {
          method: 'POST',
          headers: { secret: o.secret, 'content-type': 'application/json' },
          body: JSON.stringify({ nodeSelector: { region: 'ausrine' }, containers: [{ name: 'app', imageName: 'nginx', ports: [{ containerPort: 80, hostPort: 8201 }], resource: { memory: '32Mi' } }] }),
        });
        return res.status;
      }),
    );
    assert.equal(results.filter((s) => s === 200).length, 1, `one winner: ${results.join(',')}`);
    assert.equal(results.filter((s) => s === 409).length, 19);
    await eventually(async () => {
      const pods = (await kube.get<{ items: Array<{ spec: { containers: Array<{ ports?: Array<{ hostPort?: number }> }> }; metadata: { deletionTimestamp?: string } }> }>('/api/v1/pods', { query: { labelSelector: 'app.kubernetes.io/managed-by=vkube' } })).items;
      assert.equal(pods.filter((p) => !p.metadata.deletionTimestamp && p.spec.containers.some((c) => c.ports?.some((x) => x.hostPort === 8201))).length, 1);
    });
  });

  it('exactly one replica leads; killing it moves the reconcile loop to the other within a lease period', { timeout: 120_000 }, async () => {
    const gauges = await eventually(async () => {
      const g = await Promise.all(replicas.map(leaderGauge));
      assert.deepEqual([...g].sort(), [0, 1], `one leader: ${g}`);
      return g;
    }, { timeoutMs: 30_000 });
    const leader = replicas[gauges.indexOf(1)]!;
    const follower = replicas[gauges.indexOf(0)]!;

    // A running order whose namespace someone deletes by hand: only a live loop brings it back.
    const o = await follower.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
    orders.push(o.id);
    const deployed = await fetch(`${follower.url}/api/v1/k8s/deploy`, {
      method: 'POST',
      headers: { secret: o.secret, 'content-type': 'application/json' },
      body: JSON.stringify({ nodeSelector: { region: 'giltine' }, containers: [{ name: 'app', imageName: 'nginx', resource: { memory: '32Mi' } }] }),
    });
    assert.equal(deployed.status, 200);

    const killedAt = Date.now();
    await leader.kill();
    await eventually(async () => assert.equal(await leaderGauge(follower), 1), { timeoutMs: 30_000, intervalMs: 100 });
    const takeover = (Date.now() - killedAt) / 1000;
    console.log(`leader failover: the other replica led ${takeover.toFixed(1)} s after the leader was killed (lease ${LEASE_SECONDS} s)`);
    assert.ok(takeover <= LEASE_SECONDS * 2 + 1, `took over within a lease period and a retry (${takeover.toFixed(1)} s)`);

    await kube.delete(`/api/v1/namespaces/${namespaceOf(o.id)}`);
    await eventually(
      async () => {
        const ns = await kube.get<{ metadata: { deletionTimestamp?: string } }>(`/api/v1/namespaces/${namespaceOf(o.id)}`).catch((e: unknown) => (e instanceof KubeError && e.status === 404 ? undefined : Promise.reject(e)));
        assert.ok(ns && !ns.metadata.deletionTimestamp, 'the namespace is back');
        const pods = await kube.get<{ items: Array<{ status: { phase?: string } }> }>(`/api/v1/namespaces/${namespaceOf(o.id)}/pods`);
        assert.equal(pods.items[0]?.status.phase, 'Running');
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  });
});
