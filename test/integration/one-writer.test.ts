/**
 * Only the reconcile leader writes to Kubernetes. Two apps share one PostgreSQL
 * database as two replicas would: the follower records and waits, the leader applies
 * from the durable work queue; concurrent updates of one order through both lose
 * nothing; a write without the Lease is refused; what is deleted by hand from an
 * order's set comes back; a failed step of a teardown is retried with back-off and
 * counted, and the leases go only with the move to Done.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { testPostgres } from '../../dev/postgres/testing.js';
import { KubeError, KubeHttp } from '../../src/cluster/kube-http.js';
import { UnavailableError } from '../../src/kernel/errors.js';
import { FencedOut } from '../../src/domain/leadership.js';
import { DEPLOYMENT_NAME, namespaceOf } from '../../src/domain/manifests.js';
import type { OrderStore } from '../../src/domain/store-port.js';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';
import { checkInvariants } from '../helpers/invariants.js';

let leader: TestApp;
let follower: TestApp;
let kube: KubeHttp;

before(async () => {
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
  const url = await (await testPostgres()).createDatabase();
  leader = await startTestApp({ env: { DATABASE_URL: url } });
  follower = await startTestApp({ env: { DATABASE_URL: url }, leader: false });
});
after(async () => {
  await follower.close();
  await leader.close();
  kube.close();
});

interface DeploymentJson {
  spec: { template: { spec: { containers: Array<{ env?: Array<{ name: string; value: string }> }> } } };
}

const clientBody = (env: Array<{ name: string; value: string }> = []) => ({
  nodeSelector: { region: 'giltine' },
  containers: [{ name: 'app', imageName: 'nginx:1.27', resourceUnit: 1, envs: env, configMountPath: '/etc/app/app.conf', config: 'a = 1\n' }],
});

describe('one writer', () => {
  it('a replica that does not lead records the deploy and answers once the leader applied it; it cannot write itself', { timeout: 60_000 }, async () => {
    const order = await follower.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
    const res = await follower.tenant(order.secret).post('/api/v1/k8s/deployment', clientBody());
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ generation: number; applied: boolean; warnings: string[] }>();
    assert.equal(body.applied, true, `applied by the leader within the wait: ${body.warnings.join('; ')}`);
    assert.ok(body.generation >= 1, 'answers with the generation it recorded');
    const d = await kube.get<{ metadata: { managedFields: Array<{ manager: string }> } }>(`/apis/apps/v1/namespaces/${namespaceOf(order.id)}/deployments/${DEPLOYMENT_NAME}`);
    assert.deepEqual([...new Set(d.metadata.managedFields.map((f) => f.manager).filter((m) => m.startsWith('vkube')))], ['vkube'], 'one field manager');
    // A change the follower would have to write (a new restart generation): its fence refuses, counts it, and the leader applies it.
    await follower.services.store.bumpRestart(order.id, follower.services.clock.now());
    await assert.rejects(follower.services.reconciler.reconcile(order.id), FencedOut, 'the follower refuses to write');
    assert.match((await follower.app.inject('/metrics')).body, /^vkube_fenced_writes_refused_total [1-9]/m, 'and counts the refusal');
    await eventually(async () => {
      const latest = await follower.services.store.findOrder(order.id);
      assert.equal(latest?.observedGeneration, latest?.generation, 'the leader applied it');
    });
    // A Deployment deleted by hand: the leader's watch queues the order and puts it back.
    await kube.delete(`/apis/apps/v1/namespaces/${namespaceOf(order.id)}/deployments/${DEPLOYMENT_NAME}`);
    await eventually(async () => assert.ok(await kube.get(`/apis/apps/v1/namespaces/${namespaceOf(order.id)}/deployments/${DEPLOYMENT_NAME}`), 'restored'));
  });

  it('two replicas updating one order at once: every answered update is kept, in the database and in the cluster', { timeout: 90_000 }, async () => {
    const order = await leader.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
    assert.equal((await leader.tenant(order.secret).post('/api/v1/k8s/deployment', clientBody())).statusCode, 200);
    const updates = Array.from({ length: 6 }, (_, i) => ({ app: i % 2 === 0 ? leader : follower, key: `K${i}` }));
    const results = await Promise.all(
      updates.map(({ app, key }) => app.tenant(order.secret).request('PUT', '/api/v1/k8s/pod/update', { environment: { app: { [key]: key.toLowerCase() } } })),
    );
    for (const r of results) assert.ok(r.statusCode === 200 || r.statusCode === 409, `200, or 409 when it could not get a turn: ${r.statusCode} ${r.body}`);
    const kept = updates.filter((_, i) => results[i]!.statusCode === 200).map((u) => u.key);
    assert.ok(kept.length >= 2, `several updates went through: ${kept.join(',')}`);
    const info = (await follower.tenant(order.secret).get('/api/v1/k8s/deployment/info')).json<{ containers: Array<{ envs: Array<{ name: string }> }> }>();
    const stored = info.containers[0]!.envs.map((e) => e.name);
    for (const key of kept) assert.ok(stored.includes(key), `${key} is in the stored spec (${stored.join(',')})`);
    await eventually(async () => {
      const d = await kube.get<DeploymentJson>(`/apis/apps/v1/namespaces/${namespaceOf(order.id)}/deployments/${DEPLOYMENT_NAME}`);
      const names = (d.spec.template.spec.containers[0]!.env ?? []).map((e) => e.name);
      for (const key of kept) assert.ok(names.includes(key), `${key} reached the Deployment (${names.join(',')})`);
    });
  });
});

describe('the leader restores and finishes', () => {
  let t: TestApp;
  before(async () => {
    // Every pass re-applies each order's whole set once a second at most: what no watch sees comes back too.
    t = await startTestApp({ env: { VKUBE_RESYNC_SECONDS: '1' } });
  });
  after(() => t.close());

  it('restores a deleted ConfigMap, Secret, NetworkPolicy, ResourceQuota, LimitRange and volume claim', { timeout: 90_000 }, async () => {
    const order = await t.createOrder({ serviceOptions: { resourceUnit: '2-Unit-Resource', region: 'ausrine', persistStorage: 'Yes' } });
    const deployed = await t.tenant(order.secret).post('/api/v1/k8s/deployment', {
      containers: [{ name: 'app', imageName: 'nginx:1.27', resourceUnit: 1, mountPath: '/data', configMountPath: '/etc/app/app.conf', config: 'a = 1\n' }],
      pvtLogin: [{ username: 'alice', password: 'wonderland' }],
    });
    assert.equal(deployed.statusCode, 200, deployed.body);
    const ns = namespaceOf(order.id);
    const objects = [
      `/api/v1/namespaces/${ns}/configmaps/config-app`,
      `/api/v1/namespaces/${ns}/secrets/registry-login-0`,
      `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/order-isolation`,
      `/api/v1/namespaces/${ns}/resourcequotas/order-quota`,
      `/api/v1/namespaces/${ns}/limitranges/order-limits`,
      `/api/v1/namespaces/${ns}/persistentvolumeclaims/data`,
    ];
    for (const path of objects) await kube.get(path);
    for (const path of objects) await kube.delete(path);
    const gone = async (path: string) => kube.get(path).then(() => false, (e: unknown) => e instanceof KubeError && e.status === 404);
    await eventually(async () => assert.ok(await gone(objects[5]!), 'the claim is gone (no scheduled pod holds it)'), { timeoutMs: 30_000 });
    await eventually(
      async () => {
        await t.services.reconciler.reconcileAll();
        for (const path of objects) assert.equal(await gone(path), false, `${path} is back`);
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const problems = (await checkInvariants(t.config.databaseUrl.slice('sqlite:'.length), kube, [order.id])).filter((p) => p.includes(order.id));
    assert.deepEqual(problems, []);
  });

  it('a teardown whose lease release fails is retried with back-off, counted, and keeps the leases until it moves to Done', { timeout: 90_000 }, async () => {
    const order = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
    const res = await t.tenant(order.secret).post('/api/v1/k8s/deploy', {
      nodeSelector: { region: 'giltine' },
      containers: [{ name: 'app', imageName: 'nginx', ports: [{ containerPort: 80, hostPort: 7951 }], resource: { memory: '64Mi' } }],
    });
    assert.equal(res.statusCode, 200, res.body);
    // The database fails at the moment the teardown would release the leases: between namespace deletion and release.
    const store = t.services.store as OrderStore;
    const finish = store.finishTeardown.bind(store);
    let failures = 0;
    store.finishTeardown = async (id, now) => {
      if (id === order.id && failures < 2) {
        failures++;
        throw new UnavailableError('the database cannot be reached (injected)');
      }
      return finish(id, now);
    };
    try {
      assert.equal((await t.admin('POST', `/api/v1/admin/orders/${order.id}/abort`)).statusCode, 200);
      const queued = await eventually(async () => {
        const w = await t.services.store.queuedWork(order.id);
        assert.ok(w && w.attempts >= 1, `a failed attempt is recorded: ${JSON.stringify(w)}`);
        return w;
      }, { timeoutMs: 60_000 });
      assert.match(queued.lastError, /injected/, 'with its error');
      assert.deepEqual((await t.services.store.leasesOfOrder(order.id)).map((l) => l.port), [7951], 'the lease is held while the teardown is unfinished');
      assert.equal((await t.services.store.findOrder(order.id))?.teardown, 'Terminating');
      const metrics = await t.app.inject('/metrics');
      assert.match(metrics.body, /^vkube_work_queue_retries_total [1-9]/m, 'the retry is counted');
      await eventually(async () => {
        assert.equal((await t.services.store.findOrder(order.id))?.teardown, 'Done');
        assert.deepEqual(await t.services.store.leasesOfOrder(order.id), [], 'released with the move to Done');
        assert.equal(await t.services.store.queuedWork(order.id), undefined, 'nothing left in the queue');
      }, { timeoutMs: 60_000 });
      assert.equal(failures, 2, 'retried after each failure');
    } finally {
      store.finishTeardown = finish;
    }
  });
});
