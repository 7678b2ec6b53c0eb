/**
 * The end of an order on the real node: when it is aborted, or expires (on a clock the
 * test moves), its container is really gone — containerd holds no sandbox or container
 * of its namespace — and its host port answers nothing and is free to sell again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { namespaceOf } from '../../src/domain/manifests.js';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { TestClock } from '../helpers/clock.js';
import { eventually } from '../helpers/eventually.js';
import { containersIn, httpGet, pushAppImage, realNodeOrSkip, type RealNodeHandle, sandboxesIn, served, testHostPort } from '../helpers/real-node.js';

const { node, skip } = await realNodeOrSkip();
const clock = new TestClock(Math.floor(Date.now() / 1000));
let t: TestApp;
let image: string;

before(async () => {
  if (!node) return;
  t = await startTestApp({ clock, env: { VKUBE_UNIT_MEMORY: '64Mi', VKUBE_UNIT_CPU: '250m' } });
  image = (await pushAppImage(node)).image;
});
after(async () => {
  await t?.close();
});

/** Deploys the app on the node for a new order; resolves once it answers on its host port. */
async function runningOrder(n: RealNodeHandle, duration: number): Promise<{ id: string; secret: string; hostPort: number }> {
  const order = await t.createOrder({ duration, serviceOptions: { resourceUnit: '1-Unit-Resource', region: n.region } });
  const hostPort = testHostPort();
  const res = await t.tenant(order.secret).post('/api/v1/k8s/deploy', {
    nodeSelector: { region: n.region },
    containers: [{ name: 'app', imageName: image, ports: [{ containerPort: 80, hostPort }], resource: { memory: '64Mi' }, args: `end-${hostPort}` }],
  });
  assert.equal(res.statusCode, 200, res.body);
  await served(n, hostPort, new RegExp(`token=end-${hostPort}`));
  assert.ok((await containersIn(n, namespaceOf(order.id))).length >= 1, 'containerd runs its container');
  return { ...order, hostPort };
}

/**
 * The order's container stops and its host port is free at once; then the kubelet's
 * garbage collection (once a minute) removes the stopped container and sandbox, so
 * nothing of the order is left in containerd.
 */
async function goneFromTheNode(n: RealNodeHandle, order: { id: string; hostPort: number }): Promise<void> {
  const ns = namespaceOf(order.id);
  await eventually(async () => assert.deepEqual(await containersIn(n, ns, 'running'), [], 'no running container'), { timeoutMs: 60_000, intervalMs: 500 });
  await eventually(() => assert.rejects(httpGet(`http://${n.ip}:${order.hostPort}/`, 2000), /ECONNREFUSED/, 'nothing listens on the host port'));
  // Free for sale once the pod object is gone too (until then the scheduler, and so V-Kube, count its port).
  await eventually(async () => {
    const check = await t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload: { region: n.region, ports: [order.hostPort] } });
    assert.deepEqual(check.json(), { occupied: [], status: 'NotOccupied' });
  });
  await eventually(
    async () => {
      assert.deepEqual(await sandboxesIn(n, ns), [], 'no pod sandbox in containerd');
      assert.deepEqual(await containersIn(n, ns), [], 'no container in containerd');
    },
    { timeoutMs: 150_000, intervalMs: 1000 },
  );
}

describe('the end of an order on the real node', { skip }, () => {
  it('abort removes the real container and frees the host port', { timeout: 180_000 }, async () => {
    const n = node!;
    const order = await runningOrder(n, 24);
    const abort = await t.admin('POST', `/api/v1/admin/orders/${order.id}/abort`);
    assert.equal(abort.statusCode, 200, abort.body);
    await goneFromTheNode(n, order);
  });

  it('expiry removes the real container and frees the host port; a running order beside it keeps running', { timeout: 180_000 }, async () => {
    const n = node!;
    const start = clock.t;
    const ending = await runningOrder(n, 1);
    const staying = await runningOrder(n, 24);
    clock.t = start + 3600 + 1;
    await t.services.reconciler.reconcileAll();
    assert.equal((await t.tenant(ending.secret).get('/api/v1/k8s/userService')).json<{ status: string }>().status, 'ServiceDone');
    await goneFromTheNode(n, ending);
    const still = await httpGet(`http://${n.ip}:${staying.hostPort}/`);
    assert.match(still.body, new RegExp(`token=end-${staying.hostPort}`), 'the other order still answers');
    await t.admin('POST', `/api/v1/admin/orders/${staying.id}/abort`);
  });
});
