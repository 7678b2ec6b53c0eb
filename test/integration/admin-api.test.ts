/** The provider's admin API: create, list, get, renew, abort, rotate; and its token. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { KubeHttp, KubeError } from '../../src/cluster/kube-http.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { ADMIN_TOKEN, type TestApp, seedDeployBody, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';

let t: TestApp;
let kube: KubeHttp;

before(async () => {
  t = await startTestApp();
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
});
after(async () => {
  await t.close();
  kube.close();
});

describe('admin authentication', () => {
  for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }, { authorization: ADMIN_TOKEN }, { secret: ADMIN_TOKEN }]) {
    it(`refuses ${JSON.stringify(headers)} with 401 in the envelope`, async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/admin/orders', headers });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json<{ error: { code: number } }>().error.code, 401);
    });
  }

  it("a tenant's secret opens no admin route", async () => {
    const order = await t.createOrder();
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/admin/orders/${order.id}`, headers: { authorization: `Bearer ${order.secret}` } });
    assert.equal(res.statusCode, 401);
  });
});

describe('POST /admin/orders', () => {
  it('creates an order with defaults and shows the secret once', async () => {
    const res = await t.admin('POST', '/api/v1/admin/orders', { duration: 48, serviceOptions: { resourceUnit: '3-Unit-Resource', region: 'giltine' } });
    assert.equal(res.statusCode, 201);
    const body = res.json<{ order: Record<string, unknown>; secret: string; token: string }>();
    assert.match(body.secret, /^[1-9A-HJ-NP-Za-km-z]{40,50}$/, 'base58, 256 bits');
    assert.equal(body.order.status, 'OrderFiled');
    assert.equal(body.order.provider, 'v-kube-service');
    assert.equal(body.order.service, 'Container Service');
    assert.deepEqual(body.order.serviceOptions, {
      resourceUnit: '3-Unit-Resource',
      region: 'giltine',
      portSpecification: 'User Specified Service Port',
      persistStorage: 'No',
    });
    const again = await t.admin('GET', `/api/v1/admin/orders/${body.order.id as string}`);
    assert.equal(again.statusCode, 200);
    assert.ok(!JSON.stringify(again.json()).includes(body.secret), 'the secret is never shown again');
    assert.equal(again.json<{ serviceStatus: string }>().serviceStatus, 'ServicePending');
  });

  for (const [what, payload, message] of [
    ['no duration', { serviceOptions: { resourceUnit: '1-Unit-Resource' } }, /^duration: required/],
    ['a fractional duration', { duration: 1.5 }, /^duration: must be an integer/],
    ['a bad resource unit', { duration: 1, serviceOptions: { resourceUnit: 'lots' } }, /^serviceOptions\.resourceUnit: must look like "2-Unit-Resource"/],
    ['an unknown region', { duration: 1, serviceOptions: { region: 'atlantis' } }, /^serviceOptions\.region: unknown region "atlantis"/],
    ['a bad port specification', { duration: 1, serviceOptions: { portSpecification: 'Whatever' } }, /^serviceOptions\.portSpecification: must be/],
    ['a bad public key', { duration: 1, publicKey: 'not-a-key' }, /^publicKey: must be a base58 Curve25519 public key/],
    ['a negative amount', { duration: 1, amount: -5 }, /^amount: must be a number/],
    ['a non-object body', [1, 2], /^body: must be a JSON object/],
  ] as const) {
    it(`refuses ${what} with 400 naming the field`, async () => {
      const res = await t.admin('POST', '/api/v1/admin/orders', payload);
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.json<{ error: { message: string } }>().error.message, message);
    });
  }
});

describe('GET /admin/orders', () => {
  it('pages the orders, newest first, and filters by status', async () => {
    for (let i = 0; i < 3; i++) await t.createOrder();
    const all = (await t.admin('GET', '/api/v1/admin/orders?limit=500')).json<{ items: Array<{ id: string }>; total: number }>();
    assert.ok(all.total >= 3);
    assert.equal(all.items.length, all.total);
    const page = (await t.admin('GET', '/api/v1/admin/orders?limit=2&offset=1')).json<{ items: Array<{ id: string }>; total: number; limit: number; offset: number }>();
    assert.equal(page.items.length, 2);
    assert.deepEqual(page.items.map((o) => o.id), all.items.slice(1, 3).map((o) => o.id));
    assert.equal(page.total, all.total);
    const pending = (await t.admin('GET', '/api/v1/admin/orders?status=ServicePending&limit=500')).json<{ items: Array<{ serviceStatus: string }> }>();
    assert.ok(pending.items.every((o) => o.serviceStatus === 'ServicePending'));
    const bad = await t.admin('GET', '/api/v1/admin/orders?limit=-1');
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<{ error: { message: string } }>().error.message, /^limit:/);
  });

  it('answers 404 for an unknown order', async () => {
    const res = await t.admin('GET', '/api/v1/admin/orders/000000000000000000000000');
    assert.equal(res.statusCode, 404);
  });
});

describe('renew, abort and rotate', () => {
  it('renews a running order without touching its pod, moving its expiry', async () => {
    const order = await t.createOrder({ duration: 2 });
    assert.equal((await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(4301))).statusCode, 200);
    const podBefore = await eventually(async () => {
      const s = await t.tenant(order.secret).get('/api/v1/k8s/pod/status');
      assert.equal(s.statusCode, 200);
      return s.json<{ name: string }>().name;
    });
    const before = (await t.admin('GET', `/api/v1/admin/orders/${order.id}`)).json<{ endAt: number; duration: number }>();
    const res = await t.admin('POST', `/api/v1/admin/orders/${order.id}/renew`, { duration: 10 });
    assert.equal(res.statusCode, 200, res.body);
    const renewed = res.json<{ endAt: number; duration: number; serviceStatus: string }>();
    assert.equal(renewed.duration, before.duration + 10);
    assert.equal(renewed.endAt, before.endAt + 10 * 3600);
    assert.equal(renewed.serviceStatus, 'ServiceRunning');
    assert.equal((await t.tenant(order.secret).get('/api/v1/k8s/pod/status')).json<{ name: string }>().name, podBefore, 'same pod');
    const bad = await t.admin('POST', `/api/v1/admin/orders/${order.id}/renew`, { duration: 0 });
    assert.equal(bad.statusCode, 400);
  });

  it('aborts an order: namespace torn down, ports freed, status ServiceAbort, deploys refused with 403', async () => {
    const order = await t.createOrder();
    assert.equal((await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(4302))).statusCode, 200);
    const check = () => t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload: { region: 'ausrine', ports: [4302] } });
    assert.equal((await check()).json<{ status: string }>().status, 'PortsOccupied');

    const res = await t.admin('POST', `/api/v1/admin/orders/${order.id}/abort`);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<{ serviceStatus: string }>().serviceStatus, 'ServiceAbort');
    await eventually(
      async () => {
        await assert.rejects(kube.get(`/api/v1/namespaces/${namespaceOf(order.id)}`), (e: unknown) => e instanceof KubeError && e.status === 404);
      },
      { timeoutMs: 60_000 },
    );
    await eventually(async () => assert.deepEqual((await check()).json(), { occupied: [], status: 'NotOccupied' }));

    const deploy = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(4302));
    assert.equal(deploy.statusCode, 403);
    assert.deepEqual(deploy.json(), { error: { code: 403, message: 'the order was aborted' } });
    const again = await t.admin('POST', `/api/v1/admin/orders/${order.id}/abort`);
    assert.equal(again.statusCode, 409);
  });

  it('rotates a secret: the old one stops working at once, the new one works', async () => {
    const order = await t.createOrder();
    assert.equal((await t.tenant(order.secret).get('/api/v1/k8s/order')).statusCode, 200);
    const res = await t.admin('POST', `/api/v1/admin/orders/${order.id}/secret`);
    assert.equal(res.statusCode, 200);
    const fresh = res.json<{ secret: string }>().secret;
    assert.notEqual(fresh, order.secret);
    assert.equal((await t.tenant(order.secret).get('/api/v1/k8s/order')).statusCode, 401);
    assert.equal((await t.tenant(order.token).get('/api/v1/k8s/order')).statusCode, 401, 'nor the token built from it');
    assert.equal((await t.tenant(fresh).get('/api/v1/k8s/order')).statusCode, 200);
  });
});

describe('health', () => {
  it('/healthz and /readyz answer JSON', async () => {
    assert.deepEqual((await t.app.inject('/healthz')).json(), { status: 'ok' });
    const ready = await t.app.inject('/readyz');
    assert.equal(ready.statusCode, 200);
    const ok = { nodes: 'ok', pods: 'ok', namespaces: 'ok', deployments: 'ok', claims: 'ok', events: 'ok', quotas: 'ok', limits: 'ok', networkPolicies: 'ok', apiserver: 'ok' };
    assert.deepEqual(ready.json(), { status: 'ready', checks: { database: 'ok', cluster: 'ok', sources: ok } });
  });
});
