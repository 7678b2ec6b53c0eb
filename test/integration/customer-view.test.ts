/**
 * Issue 20 items 1–3 through the real HTTP app on the real cluster (fake nodes):
 * where the app is reached (`endpoints` in pod status), deploy history and rollback,
 * usage history sampled from the real metrics API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestApp, seedDeployBody, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';

let t: TestApp;

before(async () => {
  t = await startTestApp({ env: { VKUBE_PUBLIC_HOSTS: 'giltine=giltine.example.com', VKUBE_USAGE_INTERVAL_SECONDS: '5' } });
});
after(async () => {
  await t.close();
});

interface Endpoint {
  container: string;
  containerPort: number;
  protocol: string;
  host: string | null;
  hostPort: number;
  url?: string;
  source: string;
  internalHost?: string;
  note?: string;
}

async function endpointsWhenRunning(secret: string): Promise<Endpoint[]> {
  return eventually(
    async () => {
      const res = await t.tenant(secret).get('/api/v1/k8s/pod/status');
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json<{ podStatus: { phase?: string }; podSpec: { nodeName?: string }; endpoints: Endpoint[] }>();
      assert.equal(body.podStatus.phase, 'Running');
      assert.ok(body.podSpec.nodeName);
      return body.endpoints;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

describe('endpoints in GET /k8s/pod/status', () => {
  it("names the provider's public host for the region, with an http URL per TCP host port", async () => {
    const order = await t.createOrder();
    const res = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(41301, '100Mi', 'giltine'));
    assert.equal(res.statusCode, 200, res.body);
    const endpoints = await endpointsWhenRunning(order.secret);
    assert.deepEqual(endpoints, [
      { container: 'container1', containerPort: 80, protocol: 'TCP', host: 'giltine.example.com', hostPort: 41301, url: 'http://giltine.example.com:41301/', source: 'provider' },
    ]);
  });

  it('says plainly when the node has no public address, and gives the internal one marked as such', async () => {
    const order = await t.createOrder();
    const res = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedDeployBody(41302, '100Mi', 'ausrine'));
    assert.equal(res.statusCode, 200, res.body);
    const [e, ...rest] = await endpointsWhenRunning(order.secret);
    assert.equal(rest.length, 0);
    assert.equal(e!.host, null);
    assert.equal(e!.source, 'none');
    assert.equal(e!.url, undefined, 'no link to an address that is not public');
    assert.match(e!.note!, /no public address/);
    assert.match(e!.internalHost!, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(e!.hostPort, 41302);

    // A custom domain becomes a URL beside it.
    const added = await t.tenant(order.secret).post('/api/v1/k8s/pod/ingress', { domain: 'shop.example.com', containerPort: 80, isLetsencrypt: true });
    assert.equal(added.statusCode, 200, added.body);
    const withDomain = await endpointsWhenRunning(order.secret);
    assert.deepEqual(withDomain[1], { container: 'container1', containerPort: 80, protocol: 'TCP', host: 'shop.example.com', hostPort: 443, url: 'https://shop.example.com/', source: 'domain' });
  });
});

describe('deploy history and rollback', () => {
  it('lists each recorded spec with its generation and rolls back through the deploy path', async () => {
    const order = await t.createOrder();
    const api = t.tenant(order.secret);
    const empty = await api.get('/api/v1/k8s/deployment/history');
    assert.equal(empty.statusCode, 200, empty.body);
    assert.deepEqual(empty.json<{ entries: unknown[] }>().entries, []);

    const first = await api.post('/api/v1/k8s/deploy', seedDeployBody(41303, '100Mi', 'ausrine'));
    assert.equal(first.statusCode, 200, first.body);
    const g1 = first.json<{ generation: number }>().generation;
    const second = seedDeployBody(41304, '200Mi', 'ausrine') as { containers: Array<Record<string, unknown>> };
    second.containers[0]!.imageName = 'busybox';
    const deployed = await api.post('/api/v1/k8s/deploy', second);
    assert.equal(deployed.statusCode, 200, deployed.body);
    const g2 = deployed.json<{ generation: number }>().generation;

    const history = (await api.get('/api/v1/k8s/deployment/history')).json<{
      kept: number;
      entries: Array<{ generation: number; current: boolean; createdAt: number; containers: Array<{ image: string; ports: Array<{ hostPort?: number }>; memoryBytes: number }>; summary: string }>;
    }>();
    assert.equal(history.kept, 20);
    assert.deepEqual(history.entries.map((e) => [e.generation, e.current]), [[g2, true], [g1, false]]);
    assert.equal(history.entries[0]!.containers[0]!.image, 'busybox');
    assert.equal(history.entries[1]!.summary, 'container1: nginx, 80→41303/TCP');
    assert.equal(history.entries[1]!.containers[0]!.memoryBytes, 100 * 2 ** 20);

    const back = await api.post('/api/v1/k8s/deployment/rollback', { generation: g1 });
    assert.equal(back.statusCode, 200, back.body);
    const result = back.json<{ generation: number; rolledBackTo: number; containers: Array<{ image: string; ports: Array<{ hostPort: number }> }> }>();
    assert.equal(result.rolledBackTo, g1);
    assert.ok(result.generation > g2);
    assert.equal(result.containers[0]!.image, 'nginx');
    assert.equal(result.containers[0]!.ports[0]!.hostPort, 41303);
    const info = (await api.get('/api/v1/k8s/deployment/info')).json<{ containers: Array<{ imageName: string; resource: { memory: string } }> }>();
    assert.equal(info.containers[0]!.imageName, 'nginx');
    assert.equal(info.containers[0]!.resource.memory, '100Mi');
    const after = (await api.get('/api/v1/k8s/deployment/history')).json<{ entries: Array<{ generation: number; current: boolean; summary: string }> }>();
    assert.equal(after.entries[0]!.generation, result.generation);
    assert.equal(after.entries[0]!.summary, 'container1: nginx, 80→41303/TCP');
  });

  it('refuses an unknown generation with 404 naming it, and a bad body with 400 naming the field', async () => {
    const order = await t.createOrder();
    const api = t.tenant(order.secret);
    const deployed = await api.post('/api/v1/k8s/deploy', seedDeployBody(41305, '100Mi', 'ausrine'));
    assert.equal(deployed.statusCode, 200, deployed.body);
    const missing = await api.post('/api/v1/k8s/deployment/rollback', { generation: 999 });
    assert.equal(missing.statusCode, 404, missing.body);
    assert.match(missing.json<{ error: { message: string } }>().error.message, /no deploy of generation 999/);
    for (const body of [{}, { generation: 'one' }, { generation: 0 }, { generation: 1.5 }]) {
      const bad = await api.post('/api/v1/k8s/deployment/rollback', body);
      assert.equal(bad.statusCode, 400, bad.body);
      assert.match(bad.json<{ error: { message: string } }>().error.message, /generation/);
    }
  });

  it('checks a rollback as a deploy: a host port another order took meanwhile is a 409 naming it', async () => {
    const a = await t.createOrder();
    const b = await t.createOrder();
    const first = await t.tenant(a.secret).post('/api/v1/k8s/deploy', seedDeployBody(41306, '100Mi', 'ausrine'));
    const g1 = first.json<{ generation: number }>().generation;
    assert.equal((await t.tenant(a.secret).post('/api/v1/k8s/deploy', seedDeployBody(41307, '100Mi', 'ausrine'))).statusCode, 200);
    // a's old pod holds 41306 on its node until the new one replaces it; then b may take it.
    await eventually(async () => assert.equal((await t.tenant(b.secret).post('/api/v1/k8s/deploy', seedDeployBody(41306, '100Mi', 'ausrine'))).statusCode, 200));
    const back = await t.tenant(a.secret).post('/api/v1/k8s/deployment/rollback', { generation: g1 });
    assert.equal(back.statusCode, 409, back.body);
    assert.match(back.json<{ error: { message: string } }>().error.message, /41306/);
  });
});

describe('usage history', () => {
  it("serves each container's CPU and memory series with its limits, sampled from the metrics API", async () => {
    const order = await t.createOrder();
    const api = t.tenant(order.secret);
    assert.equal((await api.post('/api/v1/k8s/deploy', seedDeployBody(41308, '256Mi', 'ausrine'))).statusCode, 200);
    await endpointsWhenRunning(order.secret);
    // Sample until the metrics API has a figure for the new pod (it has none in its first seconds).
    const view = await eventually(
      async () => {
        await t.services.usageHistory.sampleOnce();
        const res = await api.get('/api/v1/k8s/monitor/history?minutes=60');
        assert.equal(res.statusCode, 200, res.body);
        const v = res.json<{ minutes: number; intervalSeconds: number; containers: Array<{ name: string; limits: { cpu: number; memory: number }; cpu: Array<[number, number]>; memory: Array<[number, number]> }> }>();
        assert.ok(v.containers[0]!.memory.length > 0, 'a memory sample');
        return v;
      },
      { timeoutMs: 90_000, intervalMs: 2000 },
    );
    assert.equal(view.minutes, 60);
    assert.equal(view.intervalSeconds, 5);
    const c = view.containers[0]!;
    assert.equal(c.name, 'container1');
    assert.equal(c.limits.memory, 256 * 2 ** 20);
    assert.ok(c.limits.cpu > 0);
    const [at, bytes] = c.memory.at(-1)!;
    assert.ok(Math.abs(at - Date.now() / 1000) < 120, 'unix seconds');
    assert.equal(bytes, 12 * 2 ** 20, "kwok's simulated working set");
    assert.ok(c.cpu.length > 0 && c.cpu.every(([, v]) => v >= 0 && v < 1));

    for (const q of ['minutes=0', 'minutes=abc', 'minutes=100000']) {
      const bad = await api.get(`/api/v1/k8s/monitor/history?${q}`);
      assert.equal(bad.statusCode, 400, bad.body);
      assert.match(bad.json<{ error: { message: string } }>().error.message, /^minutes: /);
    }
  });
});
