/**
 * Expiry on a clock the test controls: an order is torn down when its time (plus the
 * configured grace) is up — status ServiceDone, namespace gone, ports free, notices
 * raised — and a renewal before the end keeps the same pod running.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { KubeError, KubeHttp } from '../../src/cluster/kube-http.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { type TestApp, seedDeployBody, startTestApp } from '../helpers/app.js';
import { TestClock } from '../helpers/clock.js';
import { eventually } from '../helpers/eventually.js';

const clock = new TestClock(Math.floor(Date.now() / 1000));
const start = clock.t;
let t: TestApp;
let kube: KubeHttp;

before(async () => {
  t = await startTestApp({ clock, env: { VKUBE_EXPIRY_GRACE_SECONDS: '60', VKUBE_NOTICE_AHEAD_SECONDS: '600' } });
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
});
after(async () => {
  await t.close();
  kube.close();
});

async function podUid(orderId: string): Promise<string | undefined> {
  return (await kube.get<{ items: Array<{ metadata: { uid: string } }> }>(`/api/v1/namespaces/${namespaceOf(orderId)}/pods`)).items[0]?.metadata.uid;
}

async function namespaceGone(orderId: string): Promise<void> {
  await assert.rejects(kube.get(`/api/v1/namespaces/${namespaceOf(orderId)}`), (e: unknown) => e instanceof KubeError && e.status === 404);
}

const checkPort = async (port: number) =>
  (await t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload: { region: 'giltine', ports: [port] } })).json<{ status: string }>().status;

describe('expiry', () => {
  it('tears an order down after its end plus the grace; a renewed one keeps running', { timeout: 120_000 }, async () => {
    const address = `0x${Math.random().toString(16).slice(2)}`;
    const ending = await t.createOrder({ duration: 1, address, serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
    const renewed = await t.createOrder({ duration: 1, address, serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'giltine' } });
    for (const [o, port] of [[ending, 7901], [renewed, 7902]] as const) {
      assert.equal((await t.tenant(o.secret).post('/api/v1/k8s/deploy', seedDeployBody(port, '64Mi', 'giltine'))).statusCode, 200);
    }
    const renewedPod = await eventually(async () => {
      const uid = await podUid(renewed.id);
      assert.ok(uid);
      return uid;
    });

    clock.t = start + 3000;
    assert.equal((await t.admin('POST', `/api/v1/admin/orders/${renewed.id}/renew`, { duration: 2 })).statusCode, 200);

    clock.t = start + 3599;
    await t.services.reconciler.reconcileAll();
    assert.equal((await t.tenant(ending.secret).get('/api/v1/k8s/userService')).json<{ status: string }>().status, 'ServiceRunning');
    const notices = await t.app.inject({ url: '/api/v1/k8s/notice', headers: { address } });
    assert.deepEqual(notices.json<{ list: Array<{ noticeType: string; serviceID: string }> }>().list.map((n) => n.noticeType), ['ServiceExpiringSoon']);

    clock.t = start + 3600 + 30;
    await t.services.reconciler.reconcileAll();
    assert.equal((await t.tenant(ending.secret).get('/api/v1/k8s/userService')).json<{ status: string }>().status, 'ServiceRunning', 'within the grace');
    assert.ok(await podUid(ending.id), 'still running within the grace');
    const late = await t.tenant(ending.secret).post('/api/v1/k8s/deploy', seedDeployBody(7901, '64Mi', 'giltine'));
    assert.equal(late.statusCode, 403, 'an expired order takes no deploy');

    clock.t = start + 3600 + 61;
    await t.services.reconciler.reconcileAll();
    const done = (await t.tenant(ending.secret).get('/api/v1/k8s/userService')).json<{ status: string; serviceDoneTS: number }>();
    assert.equal(done.status, 'ServiceDone');
    assert.equal(done.serviceDoneTS, start + 3600 + 61);
    await eventually(() => namespaceGone(ending.id), { timeoutMs: 60_000 });
    // Leases go with the teardown's move to Done, once the leader has seen the namespace gone.
    await eventually(async () => {
      assert.equal(await checkPort(7901), 'NotOccupied', 'its host port is free');
      assert.deepEqual(await t.services.store.leasesOfOrder(ending.id), []);
    });
    const after = (await t.app.inject({ url: '/api/v1/k8s/notice', headers: { address } })).json<{ list: Array<{ noticeType: string }> }>().list.map((n) => n.noticeType).sort();
    assert.deepEqual(after, ['ServiceExpired', 'ServiceExpiringSoon'], 'the renewed order is not near its end');

    assert.equal((await t.tenant(renewed.secret).get('/api/v1/k8s/userService')).json<{ status: string }>().status, 'ServiceRunning');
    assert.equal(await podUid(renewed.id), renewedPod, 'the renewed order kept its pod');
    assert.equal(await checkPort(7902), 'PortsOccupied');
  });
});
