/**
 * DESIGN.md section 2, row by row, against the real local cluster and a real SQLite
 * file: the seed's own examples and each error row.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { realNode, testKubeClient } from '../../dev/cluster/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { type TestApp, seedDeployBody, startTestApp } from '../helpers/app.js';
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

interface PodJson {
  metadata: { name: string; annotations?: Record<string, string>; creationTimestamp: string; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: Array<{ ports?: Array<{ hostPort?: number }> }> };
  status: { phase?: string };
}

async function podsOf(orderId: string): Promise<PodJson[]> {
  return (await kube.get<{ items: PodJson[] }>(`/api/v1/namespaces/${namespaceOf(orderId)}/pods`)).items;
}

describe('GET /k8s/regions', () => {
  it('lists the region label values of Ready nodes, sorted', async () => {
    const res = await t.app.inject('/api/v1/k8s/regions');
    assert.equal(res.statusCode, 200);
    // The kwok regions, and the real node's region when the local cluster has one.
    const real = await realNode();
    assert.deepEqual(res.json(), ['ausrine', 'giltine', ...(real ? [real.region] : [])].sort());
  });
});

describe('POST /k8s/checkports', () => {
  it("answers the seed's example: 22 reserved, 3306 held by another order", async () => {
    const other = await t.createOrder({ serviceOptions: { resourceUnit: '2-Unit-Resource', region: 'ausrine' } });
    const deployed = await t.tenant(other.secret).post('/api/v1/k8s/deploy', seedDeployBody(3306));
    assert.equal(deployed.statusCode, 200, deployed.body);
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload: { region: 'ausrine', ports: [22, 3306, 1234, 1111] } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { occupied: [22, 3306], status: 'PortsOccupied' });
    // The holder itself, naming its order and showing its secret, sees its own port as free.
    const own = await t.app.inject({
      method: 'POST',
      url: '/api/v1/k8s/checkports',
      headers: { secret: other.secret },
      payload: { region: 'ausrine', ports: [3306], userServiceID: other.id },
    });
    assert.deepEqual(own.json(), { occupied: [], status: 'NotOccupied' });
  });

  it('answers NotOccupied with an empty list when every port is free', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload: { region: 'giltine', ports: [4101, 4102] } });
    assert.deepEqual(res.json(), { occupied: [], status: 'NotOccupied' });
  });

  it('answers NoResource for an unknown region', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload: { region: 'atlantis', ports: [80] } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { occupied: [], status: 'NoResource' });
  });

  for (const [what, payload] of [
    ['no region', { ports: [80] }],
    ['no ports', { region: 'ausrine' }],
    ['empty ports', { region: 'ausrine', ports: [] }],
    ['empty region', { region: '', ports: [80] }],
    ['an empty body', {}],
  ] as const) {
    it(`refuses ${what} with "item field empty"`, async () => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), { error: { code: 400, message: 'item field empty' } });
    });
  }

  for (const bad of ['3306', 0, 70000, 1.5, -1, null]) {
    it(`refuses the port ${JSON.stringify(bad)} naming it`, async () => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload: { region: 'ausrine', ports: [22, bad] } });
      assert.equal(res.statusCode, 400);
      assert.match(res.json<{ error: { message: string } }>().error.message, /^ports\[1\]: must be an integer from 1 to 65535/);
    });
  }
});

describe('tenant authentication', () => {
  for (const path of ['/api/v1/k8s/order', '/api/v1/k8s/pod/log', '/api/v1/k8s/pod/status']) {
    it(`GET ${path} without a secret, or with an unknown one, is 401 in the envelope`, async () => {
      const missing = await t.app.inject(path);
      assert.equal(missing.statusCode, 401);
      assert.equal(missing.json<{ error: { code: number } }>().error.code, 401);
      const unknown = await t.app.inject({ url: path, headers: { secret: '2Vu3KdNotARealSecretAtAll' } });
      assert.equal(unknown.statusCode, 401);
      assert.deepEqual(unknown.json(), { error: { code: 401, message: 'unknown secret' } });
    });
  }

  it('POST /k8s/deploy without a secret is 401 and writes nothing', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/k8s/deploy', payload: seedDeployBody(4103) });
    assert.equal(res.statusCode, 401);
  });

  it("accepts the original clients' token (base58 of host:secret) as the secret", async () => {
    const order = await t.createOrder();
    const res = await t.tenant(order.token).get('/api/v1/k8s/order');
    assert.equal(res.statusCode, 200);
    assert.equal(res.json<{ id: string }>().id, order.id);
  });
});

describe('GET /k8s/order', () => {
  it('returns the order with exactly the seed fields; serviceExpiredDate is "" until the service starts', async () => {
    const order = await t.createOrder({
      amount: 18000,
      amountPaid: 18000,
      duration: 100,
      service: 'Container Service',
      provider: 'v-kube-service',
      address: 'addr-1',
      recipient: 'rcpt-1',
      serviceCategoryID: 'cat-1',
      serviceOptions: { resourceUnit: '2-Unit-Resource', portSpecification: 'User Specified Service Port' },
    });
    const res = await t.tenant(order.secret).get('/api/v1/k8s/order');
    assert.equal(res.statusCode, 200);
    const body = res.json<Record<string, unknown>>();
    assert.deepEqual(Object.keys(body).sort(), [
      'address', 'amount', 'amountPaid', 'createdAt', 'duration', 'id', 'provider', 'publicKey', 'recipient', 'service',
      'serviceCategoryID', 'serviceExpiredDate', 'serviceID', 'serviceOptions', 'status', 'updatedAt',
    ]);
    assert.equal(body.id, order.id);
    assert.equal(body.status, 'OrderFiled');
    assert.equal(body.serviceExpiredDate, '');
    assert.equal(body.amount, 18000);
    assert.equal(body.duration, 100);
    assert.equal(typeof body.createdAt, 'number');
    assert.ok(Math.abs((body.createdAt as number) - Date.now() / 1000) < 60, 'unix seconds');
    assert.deepEqual(body.serviceOptions, {
      resourceUnit: '2-Unit-Resource',
      portSpecification: 'User Specified Service Port',
      persistStorage: 'No',
    });

    const deployed = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(4104));
    assert.equal(deployed.statusCode, 200, deployed.body);
    const after = (await t.tenant(order.secret).get('/api/v1/k8s/order')).json<{ serviceExpiredDate: string; updatedAt: number }>();
    assert.match(after.serviceExpiredDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const hours = (Date.parse(after.serviceExpiredDate) - Date.now()) / 3_600_000;
    assert.ok(hours > 99 && hours <= 100, `expires in ~100 hours, got ${hours}`);
  });
});

describe('POST /k8s/deploy, GET /k8s/pod/status and /k8s/pod/log', () => {
  let order: { secret: string; id: string };
  before(async () => {
    order = await t.createOrder({ serviceOptions: { resourceUnit: '2-Unit-Resource' } });
  });

  it('answers 404 for log and status before anything is deployed', async () => {
    for (const path of ['/api/v1/k8s/pod/log', '/api/v1/k8s/pod/status']) {
      const res = await t.tenant(order.secret).get(path);
      assert.equal(res.statusCode, 404, path);
      assert.equal(res.json<{ error: { code: number } }>().error.code, 404);
    }
  });

  it("deploys the seed's body: a Running pod in the region with the host port, memory and command", async () => {
    const res = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(2999));
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ status: string; region: string; containers: Array<{ ports: Array<{ hostPort: number }> }> }>();
    assert.equal(body.status, 'OK');
    assert.equal(body.region, 'ausrine');
    assert.equal(body.containers[0]!.ports[0]!.hostPort, 2999);
    const pod = await eventually(async () => {
      const [p] = await podsOf(order.id);
      assert.equal(p?.status.phase, 'Running');
      return p!;
    });
    assert.equal(pod.spec.nodeName, 'ausrine-1');
    assert.equal(pod.spec.containers[0]!.ports![0]!.hostPort, 2999);
  });

  it("status equals what the Kubernetes API says of the pod: name, status, spec, annotations", async () => {
    await eventually(async () => {
      const res = await t.tenant(order.secret).get('/api/v1/k8s/pod/status');
      assert.equal(res.statusCode, 200, res.body);
      const view = res.json<{ name: string; podStatus: unknown; podSpec: unknown; annotations: unknown }>();
      const live = await kube.get<{ metadata: { name: string; annotations?: unknown }; status: unknown; spec: unknown }>(
        `/api/v1/namespaces/${namespaceOf(order.id)}/pods/${view.name}`,
      );
      // The seed's four fields, the original clients' `domains` (DESIGN.md section 3), [] without custom domains, and
      // `endpoints`: where the app is reached (issue 20). Both are additions; the seed's four are Kubernetes' own.
      assert.deepEqual(Object.keys(view).sort(), ['annotations', 'domains', 'endpoints', 'name', 'podSpec', 'podStatus']);
      assert.deepEqual((view as { domains?: unknown }).domains, []);
      assert.equal(view.name, live.metadata.name);
      assert.deepEqual(view.podStatus, live.status);
      assert.deepEqual(view.podSpec, live.spec);
      assert.deepEqual(view.annotations, live.metadata.annotations ?? {});
      assert.equal((view.podStatus as { phase: string }).phase, 'Running');
    });
  });

  it("log is a JSON string equal to the API's log text; container, tailLines and previous pass through", async () => {
    const pod = (await podsOf(order.id))[0]!;
    const base = `/api/v1/namespaces/${namespaceOf(order.id)}/pods/${pod.metadata.name}/log`;
    const res = await t.tenant(order.secret).get('/api/v1/k8s/pod/log');
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /application\/json/);
    assert.equal(res.json(), await kube.text(base));
    const tail = await t.tenant(order.secret).get('/api/v1/k8s/pod/log?container=container1&tailLines=1&timestamps=True');
    assert.equal(tail.json(), await kube.text(base, { query: { container: 'container1', tailLines: 1, timestamps: true } }));
    assert.equal((tail.json() as string).trim().split('\n').length, 1);
    const previous = await t.tenant(order.secret).get('/api/v1/k8s/pod/log?previous=true');
    assert.equal(previous.json(), await kube.text(base, { query: { previous: true } }));
    const badContainer = await t.tenant(order.secret).get('/api/v1/k8s/pod/log?container=nope');
    assert.equal(badContainer.statusCode, 400);
    assert.match(badContainer.json<{ error: { message: string } }>().error.message, /^container: no container "nope"/);
    const badTail = await t.tenant(order.secret).get('/api/v1/k8s/pod/log?tailLines=-3');
    assert.equal(badTail.statusCode, 400);
    assert.match(badTail.json<{ error: { message: string } }>().error.message, /^tailLines:/);
  });

  it('deploying again replaces the pod', async () => {
    const before = (await podsOf(order.id))[0]!.metadata.name;
    const res = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(2999, '200Mi'));
    assert.equal(res.statusCode, 200, res.body);
    await eventually(async () => {
      const pods = (await podsOf(order.id)).filter((p) => !p.metadata.deletionTimestamp);
      assert.equal(pods.length, 1);
      assert.notEqual(pods[0]!.metadata.name, before);
      assert.equal(pods[0]!.status.phase, 'Running');
    });
    await eventually(async () => {
      const status = (await t.tenant(order.secret).get('/api/v1/k8s/pod/status')).json<{ name: string; podSpec: { containers: Array<{ resources: { limits: { memory: string } } }> } }>();
      assert.notEqual(status.name, before);
      assert.equal(status.podSpec.containers[0]!.resources.limits.memory, '200Mi');
    });
  });

  it("refuses memory beyond the order's units with 400 naming memory", async () => {
    const res = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(2999, '3Gi'));
    assert.equal(res.statusCode, 400);
    assert.match(res.json<{ error: { message: string } }>().error.message, /^containers\[\]\.resource\.memory: .*3072Mi.*2048Mi/);
  });

  it('refuses a host port another order holds with 409 naming the port', async () => {
    const other = await t.createOrder();
    const res = await t.tenant(other.secret).post('/api/v1/k8s/deploy', seedDeployBody(2999));
    assert.equal(res.statusCode, 409);
    assert.deepEqual(res.json(), { error: { code: 409, message: 'host port 2999 is already taken in region ausrine' } });
    const status = await t.tenant(other.secret).get('/api/v1/k8s/pod/status');
    assert.equal(status.statusCode, 404, 'nothing was deployed for the refused order');
  });

  it('refuses a reserved host port naming the field', async () => {
    const res = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(22));
    assert.equal(res.statusCode, 400);
    assert.equal(res.json<{ error: { message: string } }>().error.message, 'containers[0].ports[0].hostPort: 22 is a reserved port and cannot be leased');
  });
});
